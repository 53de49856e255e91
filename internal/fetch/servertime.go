package fetch

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// fixedClock is the API's clock when a run is given none: the run's Now.
type fixedClock time.Time

func (c fixedClock) Now() time.Time                { return time.Time(c) }
func (c fixedClock) Vouched() (time.Time, bool)    { return time.Time(c), true }
func (c fixedClock) Offset() (time.Duration, bool) { return 0, false }

// floorAt is the earliest listing start at the API's time now.
func floorAt(now time.Time) time.Time {
	return now.Add(-Retention + SafetyMargin).Truncate(time.Second)
}

// SkewMessage says how far the engine's clock (host) is from the API's,
// offset being host minus API, e.g. "the engine's clock is 2h03m ahead of
// Microsoft's; times are taken from the API".
func SkewMessage(offset time.Duration) string {
	dir := "ahead of"
	if offset < 0 {
		dir, offset = "behind", -offset
	}
	return fmt.Sprintf("the engine's clock is %s %s Microsoft's; times are taken from the API", clockWords(offset), dir)
}

// offsetWords is the diagnostics' clock offset, "" under a second.
func offsetWords(offset time.Duration) string {
	if offset < time.Second && offset > -time.Second {
		return ""
	}
	dir := "ahead"
	if offset < 0 {
		dir, offset = "behind", -offset
	}
	return fmt.Sprintf("engine clock %s %s", offset.Truncate(time.Second), dir)
}

// clockWords renders an offset as "2h03m", or "4m10s" under an hour.
func clockWords(d time.Duration) string {
	if d >= time.Hour {
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
}

// checkTimes holds every time a lastRun carries against the API's clock at
// the start of the run, before anything uses them. They are the API's
// times, but a run that got no Date header took the engine's clock instead,
// so one written while that clock was ahead holds times Microsoft has not
// reached yet; each would wait silently until the API catches up (a future
// next_attempt: the blob is not fetched until it expires). Each is
// corrected, with a warning naming the value:
//   - the reference integration's last_fetch more than Settle ahead: every
//     content type starts one overlap back from now;
//   - a cursor more than Settle ahead: listing starts again from a safe
//     point (safePoint), so nothing delivered since is delivered twice;
//   - a retried blob's next_attempt beyond now plus the longest back-off,
//     and its first_failure or content_created more than Settle ahead: set
//     to now, so it is fetched again in this run (and expires 7 days after
//     now at the latest);
//   - a partial blob's content_created more than Settle ahead: set to now.
//
// The dedupe set's minutes are left as they are: a minute ahead of the
// API's clock only keeps its hashes longer, and lastRun stays bounded.
func (r *runner) checkTimes() {
	ahead := r.now.Add(Settle)
	now := r.now.Truncate(time.Second)
	says := "Microsoft's clock says " + r.now.Format(wireTime)
	if m := r.st.MigratedFrom; m.After(ahead) {
		start := r.now.Add(-r.opt.Overlap).Truncate(time.Second)
		for _, ct := range r.opt.ContentTypes {
			if r.st.Streams[ct] == nil {
				r.warn("%s: the reference integration's last_fetch %s is in the future (%s), probably written while the engine's clock was ahead; fetching starts at %s instead (one fetch_overlap back). Records the reference already delivered from that hour may come once more.",
					ct, m.Format(wireTime), says, start.Format(wireTime))
			}
		}
		r.st.MigratedFrom = start
	}
	for _, ct := range r.streamOrder() {
		s := r.st.Streams[ct]
		if bad := s.Cursor; bad.After(ahead) {
			safe := r.safePoint(s)
			r.warn("%s: the fetch position %s is in the future (%s), probably written while the engine's clock was ahead; listing again from %s. Blobs delivered since then are recognized and not delivered twice.",
				ct, bad.Format(wireTime), says, safe.Format(wireTime))
			s.Cursor = safe
			if s.From.After(safe) {
				s.From = safe
			}
		}
		for i := range s.Partials {
			p := &s.Partials[i]
			if p.Created.After(ahead) {
				r.warn("%s: partly delivered content blob %s has content_created %s, in the future (%s), probably written while the engine's clock was ahead; taken as %s.",
					ct, p.ContentID, p.Created.Format(wireTime), says, now.Format(wireTime))
				p.Created = now
			}
		}
		for _, x := range s.Retry {
			var bad []string
			fix := func(name string, t *time.Time, limit time.Time) {
				if t.After(limit) {
					bad = append(bad, name+" "+t.Format(wireTime))
					*t = now
				}
			}
			fix("content_created", &x.Created, ahead)
			fix("first_failure", &x.FirstFailure, ahead)
			fix("next_attempt", &x.NextAttempt, r.now.Add(retryBackoffCap))
			if len(bad) > 0 {
				r.warn("%s: content blob %s in the retry set has %s, in the future (%s; the longest back-off is %s), probably written while the engine's clock was ahead; taken as %s, so it is fetched again now.",
					ct, x.ContentID, strings.Join(bad, " and "), says, retryBackoffCap, now.Format(wireTime))
			}
		}
	}
}

// streamOrder is the state's content types: those of the run in its
// order, then the others sorted, so warnings come in a stable order.
func (r *runner) streamOrder() []string {
	var out, rest []string
	in := map[string]bool{}
	for _, ct := range r.opt.ContentTypes {
		if _, ok := r.st.Streams[ct]; ok && !in[ct] {
			in[ct] = true
			out = append(out, ct)
		}
	}
	for ct := range r.st.Streams {
		if !in[ct] {
			rest = append(rest, ct)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

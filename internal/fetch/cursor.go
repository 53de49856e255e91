package fetch

import (
	"slices"
	"time"
)

// placeCursor sets a content type's cursor to the contentCreated of the
// first listed blob it did not fully deliver, or where its listing ended,
// never before its previous cursor unless such a blob says so (a window
// not listed again this run was delivered before), and never past the
// newest time the API has vouched for (minus the settle margin): a host
// clock ahead of the API's cannot push the cursor over blobs that do not
// exist yet. Blobs in the retry set never hold it.
func (r *runner) placeCursor(sr *streamRun) {
	s := sr.s
	limit := s.Cursor
	if sr.next.After(limit) {
		limit = sr.next
	}
	if limit.After(r.end) {
		limit = r.end
	}
	if v, ok := r.clock.Vouched(); ok {
		if l := v.Add(-Settle).Truncate(time.Second); l.Before(limit) {
			limit = l
		}
	}
	for _, e := range sr.entries {
		if !e.done && e.created.Before(limit) {
			limit = e.created
		}
	}
	// A partial blob not met again although its time was listed has
	// vanished from the listings; keeping it would pin the cursor.
	var keep []Partial
	for _, p := range s.Partials {
		if !sr.touched[p.ContentID] && p.Created.Before(limit) && !p.Created.Before(s.From) && listedPast(sr, p.Created) {
			r.warn("%s: content blob %s, delivered up to record %d, is no longer listed; the rest of it could not be fetched.", sr.name, p.ContentID, p.Offset)
			continue
		}
		if p.Created.Before(limit) {
			limit = p.Created
		}
		keep = append(keep, p)
	}
	s.Partials = keep
	cur := limit.Truncate(time.Second)
	if cur.Before(s.From) {
		cur = s.From // only when contentCreated was unparseable and truncated below From
	}
	s.Cursor = cur
	if f := cur.Add(-r.opt.Overlap); f.After(s.From) {
		s.From = f
	}
}

// listedPast reports whether this run listed the time t for sr.
func listedPast(sr *streamRun, t time.Time) bool {
	if sr.stats.Listings == 0 {
		return false
	}
	limit := sr.next
	if sr.failed != nil && !sr.failAt.IsZero() {
		limit = sr.failAt
	}
	return t.Before(limit)
}

// prune forgets what the dedupe sets no longer need. Record hashes stay
// one overlap longer than blob hashes, so a record re-delivered in a blob
// up to one overlap later is still caught, and as long as the slowest
// content type needs them (a record can come again under another content
// type), but no more than MaxLag behind the fastest, so a stuck content
// type cannot grow lastRun unbounded.
func (r *runner) prune() {
	var lo, hi time.Time
	for i, sr := range r.runs {
		if i == 0 || sr.s.From.Before(lo) {
			lo = sr.s.From
		}
		if i == 0 || sr.s.From.After(hi) {
			hi = sr.s.From
		}
	}
	if lo.Before(hi.Add(-MaxLag)) {
		lo = hi.Add(-MaxLag)
	}
	for _, sr := range r.runs {
		p := lo
		if sr.s.From.Before(p) {
			p = sr.s.From
		}
		r.st.prune(sr.s, p.Add(-r.opt.Overlap))
	}
}

func findPartial(ps []Partial, id string) *Partial {
	for i := range ps {
		if ps[i].ContentID == id {
			return &ps[i]
		}
	}
	return nil
}

func setPartial(ps []Partial, p Partial) []Partial {
	if q := findPartial(ps, p.ContentID); q != nil {
		*q = p
		return ps
	}
	return append(ps, p)
}

func dropPartial(ps []Partial, id string) []Partial {
	return slices.DeleteFunc(ps, func(p Partial) bool { return p.ContentID == id })
}

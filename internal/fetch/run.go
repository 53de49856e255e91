package fetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// Timing rules (api-facts.md A.3, A.4).
const (
	// Settle keeps the newest minute out of listings: listings are
	// eventually consistent and a blob may still be appearing.
	Settle = time.Minute
	// Retention is how far back the API lets a listing start.
	Retention = activity.Retention
	// SafetyMargin keeps listings clear of the 7-day limit, for clock skew
	// and for the time a run takes (Elastic uses 5 minutes).
	SafetyMargin = 15 * time.Minute
	// MaxWindow is the longest window one listing may cover.
	MaxWindow = activity.MaxWindow
	// MaxLag bounds how long record Ids are kept for a content type that
	// lags behind the others (see Run's pruning).
	MaxLag = 6 * time.Hour
	// GiveUpRuns is how many consecutive runs a blob may fail to decode
	// before it is skipped with a warning: it cannot be fetched any better
	// later, and holding the cursor would stall its content type for up to
	// 7 days. (A blob over max_blob_mb is never given up: raising the
	// parameter fetches it.)
	GiveUpRuns = 3
)

// Source is what Run needs from the API client (*activity.Client).
type Source interface {
	ListContent(ctx context.Context, contentType string, start, end time.Time) ([]activity.Blob, error)
	Download(ctx context.Context, blobs []activity.Blob, fn func(b activity.Blob, recs []activity.Record, err error) error) error
}

// Options configure one run.
type Options struct {
	Now          time.Time
	ContentTypes []string // canonical names, in the order to merge ties
	Overlap      time.Duration
	FirstFetch   time.Duration
	MaxFetch     int
	Filter       *activity.Filter // nil keeps every record
	Logger       *slog.Logger
	// ReadAhead is the client's download parallelism; with MaxFetch it
	// sizes the first chunk of blobs handed to Download (0: 8).
	ReadAhead int
}

// Item is one record to turn into an incident.
type Item struct {
	ContentType string
	ContentID   string
	BlobCreated time.Time
	Record      activity.Record
}

// Outcome is what a run produced. State always describes exactly what Items
// delivered, even when Err is set (a failure pins the failing content
// type's cursor at the first blob or window it could not deliver).
type Outcome struct {
	Items       []Item // listing order (blob, then record)
	State       *State
	Diagnostics *Diagnostics
	Warnings    []string
	Err         error // the first failure, nil when the run completed
	// Unreadable is true when every failure of the run was a blob that
	// could not be decoded: the state then carries the failure counts
	// (Stream.Unreadable) and must be kept even though nothing else moved.
	Unreadable bool
}

// Diagnostics are stored in lastRun for people (the engine shows no war
// room for scheduled fetches); they are never read back.
type Diagnostics struct {
	RunAt     string                  `json:"run_at"`
	Incidents int                     `json:"incidents"`
	Limited   bool                    `json:"max_fetch_reached,omitempty"`
	Streams   map[string]*StreamStats `json:"streams,omitempty"`
	Warnings  []string                `json:"warnings,omitempty"`
	Error     string                  `json:"error,omitempty"`
	// Dedupe set sizes after pruning.
	BlobHashes   int `json:"blob_hashes"`
	RecordHashes int `json:"record_hashes"`
}

// StreamStats count one content type's work in a run.
type StreamStats struct {
	Listings       int    `json:"listings"`
	Listed         int    `json:"blobs_listed"`
	AlreadyDone    int    `json:"blobs_already_delivered"`
	Downloaded     int    `json:"blobs_downloaded"`
	Skipped        int    `json:"blobs_skipped,omitempty"`
	Records        int    `json:"records"`
	Duplicates     int    `json:"duplicate_records"`
	Filtered       int    `json:"filtered_records"`
	Incidents      int    `json:"incidents"`
	LagSeconds     int64  `json:"lag_seconds"`
	LostUntil      string `json:"lost_until,omitempty"`
	LastListingEnd string `json:"listed_until,omitempty"`
}

var errStop = errors.New("max_fetch reached")

// entry is one listed blob in a run.
type entry struct {
	ct      int // index in Options.ContentTypes
	blob    activity.Blob
	created time.Time
	done    bool // delivered (fully, or skipped as gone) or already delivered
}

// streamRun is one content type's progress in a run.
type streamRun struct {
	name   string
	s      *Stream
	next   time.Time // start of the next window to list
	failed error
	failAt time.Time // listing start that failed (zero: a blob failed)
	// unreadable: the failure is a blob that could not be decoded.
	unreadable bool
	entries    []*entry
	stats      *StreamStats
	touched    map[string]bool // partial content IDs met this run
}

// Run lists, downloads and dedupes one fetch run. prev is the decoded
// lastRun (nil on a first run); it is not modified.
func Run(ctx context.Context, src Source, prev *State, opt Options) *Outcome {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opt.Now.UTC()
	end := now.Add(-Settle).Truncate(time.Second)
	floor := now.Add(-Retention + SafetyMargin).Truncate(time.Second)
	st := prev
	if st == nil {
		st = NewState()
	}
	out := &Outcome{State: st, Diagnostics: &Diagnostics{RunAt: now.Format(wireTime), Streams: map[string]*StreamStats{}}}
	warn := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		out.Warnings = append(out.Warnings, msg)
		log.Warn(msg)
	}

	runs := make([]*streamRun, len(opt.ContentTypes))
	for i, ct := range opt.ContentTypes {
		s := st.Streams[ct]
		if s == nil {
			start := now.Add(-opt.FirstFetch).Truncate(time.Second)
			if !st.MigratedFrom.IsZero() {
				start = st.MigratedFrom.Truncate(time.Second)
			} else if start.Before(floor) {
				warn("%s: first_fetch_delta reaches back to %s, but the API serves only the last 7 days; starting at %s.", ct, start.Format(wireTime), floor.Format(wireTime))
				start = floor
			}
			s = newStream(start, start)
			st.Streams[ct] = s
		}
		stats := &StreamStats{}
		out.Diagnostics.Streams[ct] = stats
		if s.Cursor.Before(floor) {
			lost := floor.Sub(s.Cursor)
			warn("%s: the fetch position %s is more than 7 days old and the API serves only the last 7 days (minus a %s safety margin): content made available between %s and %s (%s) could not be fetched. Use a Microsoft Purview audit search for that period.",
				ct, s.Cursor.Format(wireTime), SafetyMargin, s.Cursor.Format(wireTime), floor.Format(wireTime), humanDuration(lost))
			stats.LostUntil = floor.Format(wireTime)
			s.Cursor = floor
			// Partials older than the floor are beyond reach too.
			s.Partials = slices.DeleteFunc(s.Partials, func(p Partial) bool { return p.Created.Before(floor) })
		}
		if s.From.Before(floor) {
			s.From = floor
		}
		runs[i] = &streamRun{name: ct, s: s, next: s.From, stats: stats, touched: map[string]bool{}}
	}
	st.MigratedFrom = time.Time{}

	// Windows run in lockstep across content types on one 24-hour grid, and
	// each window's new blobs are merged by contentCreated, so the cursors
	// of all content types advance together and max_fetch is shared fairly.
	gridStart := end
	for _, r := range runs {
		if r.next.Before(gridStart) {
			gridStart = r.next
		}
	}
	stopped := false
	blobsDone := 0 // blobs handed back by Download this run
	for ws := gridStart; ws.Before(end) && !stopped && ctx.Err() == nil; ws = ws.Add(MaxWindow) {
		we := ws.Add(MaxWindow)
		if we.After(end) {
			we = end
		}
		var batch []*entry
		for i, r := range runs {
			if r.failed != nil || !r.next.Before(we) || !r.next.Before(end) {
				continue
			}
			a := r.next
			if a.Before(ws) {
				a = ws
			}
			r.stats.Listings++
			blobs, err := src.ListContent(ctx, r.name, a, we)
			if err != nil {
				r.failed, r.failAt = err, a
				continue
			}
			r.next = we
			r.stats.LastListingEnd = we.Format(wireTime)
			for _, b := range blobs {
				created, err := b.Created()
				if err != nil {
					// Unparseable contentCreated: pin it at the window start,
					// which the next listing includes again.
					created = a
				}
				e := &entry{ct: i, blob: b, created: created.UTC()}
				r.stats.Listed++
				r.entries = append(r.entries, e)
				if r.s.BlobDelivered(b.ContentID) {
					e.done = true
					r.stats.AlreadyDone++
					continue
				}
				batch = append(batch, e)
			}
		}
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].created.Before(batch[j].created) })
		if len(batch) == 0 {
			continue
		}
		// With max_fetch, the batch goes to Download in chunks sized to what
		// the cut still needs (from the incidents per blob seen so far), so
		// the client's read-ahead does not download blobs past the cut only
		// to cancel them: those requests cost the tenant's quota.
		var err error
		for pos := 0; pos < len(batch) && err == nil; {
			n := len(batch) - pos
			if opt.MaxFetch > 0 {
				n = min(n, chunkSize(opt.MaxFetch-len(out.Items), len(out.Items), blobsDone, opt.ReadAhead))
			}
			chunk := batch[pos : pos+n]
			pos += n
			blobs := make([]activity.Blob, len(chunk))
			for i, e := range chunk {
				blobs[i] = e.blob
			}
			idx := 0
			err = src.Download(ctx, blobs, func(b activity.Blob, recs []activity.Record, derr error) error {
				e := chunk[idx]
				idx++
				blobsDone++
				r := runs[e.ct]
				if r.failed != nil {
					return nil // left undelivered: the cursor stays before it
				}
				if derr != nil {
					if ctx.Err() != nil {
						return stoppedErr(ctx)
					}
					var ce *activity.ContentError
					if activity.IsSkippable(derr) && !errors.As(derr, &ce) {
						// The blob is gone (AF20050/51/52): nothing can fetch
						// it again, so report it and go on.
						warn("%s: skipped content blob %s (contentCreated %s): %v", r.name, b.ContentID, b.ContentCreated, derr)
						r.stats.Skipped++
						r.s.addBlob(b.ContentID, e.created)
						r.s.Partials = dropPartial(r.s.Partials, b.ContentID)
						e.done = true
						return nil
					}
					if errors.As(derr, &ce) && !ce.TooLarge {
						runs := unreadableRuns(r.s, b.ContentID) + 1
						if runs >= GiveUpRuns {
							warn("%s: gave up on content blob %s (contentCreated %s) after %d fetch runs could not read it (%v); its records were not delivered. Check them with a Microsoft Purview audit search.",
								r.name, b.ContentID, b.ContentCreated, runs, derr)
							r.stats.Skipped++
							r.s.addBlob(b.ContentID, e.created)
							r.s.Partials = dropPartial(r.s.Partials, b.ContentID)
							r.s.Unreadable = dropUnreadable(r.s.Unreadable, b.ContentID)
							e.done = true
							return nil
						}
						r.s.Unreadable = setUnreadable(r.s.Unreadable, Unreadable{ContentID: b.ContentID, Created: e.created, Runs: runs})
						r.unreadable = true
					}
					r.failed = derr
					return nil
				}
				r.s.Unreadable = dropUnreadable(r.s.Unreadable, b.ContentID)
				r.stats.Downloaded++
				start := 0
				if p := findPartial(r.s.Partials, b.ContentID); p != nil {
					start = p.Offset
					r.touched[b.ContentID] = true
				}
				for j := start; j < len(recs); j++ {
					rec := recs[j]
					r.stats.Records++
					if rec.ID != "" && st.RecordSeen(rec.ID) {
						r.stats.Duplicates++
						continue
					}
					if !opt.Filter.Match(&rec) {
						r.stats.Filtered++
						continue
					}
					if rec.ID != "" {
						st.addRecord(r.s, e.created, rec.ID)
					}
					out.Items = append(out.Items, Item{ContentType: r.name, ContentID: b.ContentID, BlobCreated: e.created, Record: rec})
					r.stats.Incidents++
					if opt.MaxFetch > 0 && len(out.Items) >= opt.MaxFetch {
						stopped = true
						if j+1 < len(recs) {
							r.s.Partials = setPartial(r.s.Partials, Partial{ContentID: b.ContentID, Created: e.created, Offset: j + 1})
							r.touched[b.ContentID] = true
							return errStop
						}
						r.s.addBlob(b.ContentID, e.created)
						r.s.Partials = dropPartial(r.s.Partials, b.ContentID)
						e.done = true
						return errStop
					}
				}
				r.s.addBlob(b.ContentID, e.created)
				r.s.Partials = dropPartial(r.s.Partials, b.ContentID)
				e.done = true
				return nil
			})
		}
		if err != nil && !errors.Is(err, errStop) {
			// Only the context ends a download early; everything not yet
			// handed to fn stays undelivered. Said the same way wherever
			// the deadline caught the download.
			if ctx.Err() != nil {
				err = stoppedErr(ctx)
			}
			out.Err = err
			break
		}
	}
	if out.Err == nil && ctx.Err() != nil {
		out.Err = stoppedErr(ctx)
	}

	for _, r := range runs {
		limit := end
		switch {
		case r.failed != nil && !r.failAt.IsZero():
			limit = r.failAt
		case r.next.Before(end):
			limit = r.next
		}
		for _, e := range r.entries {
			if !e.done && e.created.Before(limit) {
				limit = e.created
			}
		}
		// A partial blob not met again although its time was listed has
		// vanished from the listings; keeping it would pin the cursor.
		var keep []Partial
		for _, p := range r.s.Partials {
			if !r.touched[p.ContentID] && p.Created.Before(limit) && !p.Created.Before(r.s.From) {
				if listedPast(r, p.Created) {
					warn("%s: content blob %s, delivered up to record %d, is no longer listed; the rest of it could not be fetched.", r.name, p.ContentID, p.Offset)
					continue
				}
			}
			if p.Created.Before(limit) {
				limit = p.Created
			}
			keep = append(keep, p)
		}
		r.s.Partials = keep
		// Failure counts of blobs now out of reach go; a blob read
		// successfully dropped its own above.
		r.s.Unreadable = slices.DeleteFunc(r.s.Unreadable, func(u Unreadable) bool { return u.Created.Before(r.s.From) })
		cur := limit.Truncate(time.Second)
		if cur.Before(r.s.From) {
			cur = r.s.From // only when contentCreated was unparseable and truncated below From
		}
		r.s.Cursor = cur
		if f := cur.Add(-opt.Overlap); f.After(r.s.From) {
			r.s.From = f
		}
		r.stats.LagSeconds = int64(now.Sub(r.s.Cursor) / time.Second)
		if r.failed != nil {
			if out.Err == nil {
				out.Err = r.failed
			}
			warn("%s: stopped at %s: %v", r.name, r.s.Cursor.Format(wireTime), r.failed)
		}
	}
	// Record Ids stay one overlap longer than blob IDs, so a record
	// re-delivered in a blob up to one overlap later is still caught, and
	// as long as the slowest content type needs them (a record can come
	// again under another content type), but no more than MaxLag behind
	// the fastest, so a stuck content type cannot grow lastRun unbounded.
	var lo, hi time.Time
	for i, r := range runs {
		if i == 0 || r.s.From.Before(lo) {
			lo = r.s.From
		}
		if i == 0 || r.s.From.After(hi) {
			hi = r.s.From
		}
	}
	if lo.Before(hi.Add(-MaxLag)) {
		lo = hi.Add(-MaxLag)
	}
	for _, r := range runs {
		p := lo
		if r.s.From.Before(p) {
			p = r.s.From
		}
		st.prune(r.s, p.Add(-opt.Overlap))
	}
	out.Unreadable = out.Err != nil
	for _, r := range runs {
		if r.failed != nil && !r.unreadable {
			out.Unreadable = false
		}
	}
	out.Diagnostics.Incidents = len(out.Items)
	out.Diagnostics.Limited = stopped
	out.Diagnostics.Warnings = out.Warnings
	if out.Err != nil {
		out.Diagnostics.Error = out.Err.Error()
	}
	out.Diagnostics.BlobHashes, out.Diagnostics.RecordHashes = st.Sizes()
	return out
}

// listedPast reports whether this run listed the time t for r.
func listedPast(r *streamRun, t time.Time) bool {
	if r.stats.Listings == 0 {
		return false
	}
	limit := r.next
	if r.failed != nil && !r.failAt.IsZero() {
		limit = r.failAt
	}
	return t.Before(limit)
}

// chunkSize is how many blobs to hand to Download next when need more
// incidents are wanted: enough for need at the incidents per blob seen so
// far (got over done blobs), plus one for records filtered or already
// delivered; before anything is known, one round of the read-ahead.
func chunkSize(need, got, done, readAhead int) int {
	if readAhead <= 0 {
		readAhead = 8
	}
	if done == 0 || got == 0 {
		return readAhead
	}
	perBlob := float64(got) / float64(done)
	n := int(float64(need)/perBlob) + 1
	return max(n, 1)
}

func unreadableRuns(s *Stream, id string) int {
	for _, u := range s.Unreadable {
		if u.ContentID == id {
			return u.Runs
		}
	}
	return 0
}

func setUnreadable(us []Unreadable, u Unreadable) []Unreadable {
	for i := range us {
		if us[i].ContentID == u.ContentID {
			us[i] = u
			return us
		}
	}
	return append(us, u)
}

func dropUnreadable(us []Unreadable, id string) []Unreadable {
	return slices.DeleteFunc(us, func(u Unreadable) bool { return u.ContentID == id })
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

// humanDuration renders d as "2d 0h 15m".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	return fmt.Sprintf("%dd %dh %dm", days, h, d/time.Minute)
}

// stoppedErr says why the run stopped early in words a user can act on.
func stoppedErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the fetch ran out of time (its time budget or overall deadline passed; the API may be throttling or slow): %w", ctx.Err())
	}
	return fmt.Errorf("the fetch was canceled: %w", ctx.Err())
}

package fetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// Timing rules (docs/api-facts.md, "Listing windows and retention"). Every time here is the API's.
const (
	// Settle keeps the newest minute out of listings: listings are
	// eventually consistent and a blob may still be appearing.
	Settle = time.Minute
	// Retention is how far back the API lets a listing start, and how long
	// after contentCreated a blob can be downloaded.
	Retention = activity.Retention
	// SafetyMargin keeps listings clear of the 7-day limit, for the time a
	// run takes and for the API's own rounding (Elastic uses 5 minutes).
	SafetyMargin = 15 * time.Minute
	// MaxWindow is the longest window one listing may cover.
	MaxWindow = activity.MaxWindow
	// MaxRecordHashes bounds the record hashes kept for a content type
	// that lags behind the others (see prune): about the steady state at
	// 1M records a day with the default overlap, so lastRun stays under
	// 1 MiB.
	MaxRecordHashes = 90_000
	// SkewWarning is the clock offset from which a run says that the
	// engine's clock disagrees with the API's.
	SkewWarning = time.Minute
)

// Source is what Run needs from the API client (*activity.Client).
type Source interface {
	// ListContent's blobs are charged to the run's memory budget until
	// ReleaseListing: Run releases each window's once it is delivered.
	ListContent(ctx context.Context, contentType string, start, end time.Time) ([]activity.Blob, error)
	ReleaseListing(blobs []activity.Blob)
	Download(ctx context.Context, blobs []activity.Blob, fn func(b activity.Blob, recs []activity.Record, err error) error) error
}

// ServerClock is the API's clock as the run learns it from the Date header
// of the API's answers (*activity.ServerClock).
type ServerClock interface {
	// Now is the API's current time (the host's until an answer is seen).
	Now() time.Time
	// Vouched is the newest time an answer carried.
	Vouched() (time.Time, bool)
	// Offset is host minus API, once an answer carried a Date.
	Offset() (time.Duration, bool)
}

// Options configure one run.
type Options struct {
	// Server is the API's clock; nil takes Now as the API's time (tests of
	// the algorithm alone).
	Server       ServerClock
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

var errStop = errors.New("max_fetch reached")

// entry is one blob to deliver in a run: listed, or from the retry set.
type entry struct {
	ct      int // index in Options.ContentTypes
	blob    activity.Blob
	created time.Time
	// done: delivered (fully, or skipped as gone), already delivered, or
	// handed to the retry set; a listed entry not done pins the cursor.
	done  bool
	retry *Retry // the retry set's entry, when the blob is retried
}

// streamRun is one content type's progress in a run.
type streamRun struct {
	name string
	s    *Stream
	// fresh: the position was made up this run (a first run), so moving it
	// up loses nothing that was ever due.
	fresh bool
	// start is the cursor the run began from (after corrections).
	start  time.Time
	next   time.Time // start of the next window to list
	failed error
	failAt time.Time // listing start that failed (zero: a blob failed)
	// entries are the listed blobs (not the retried ones, which never pin
	// the cursor).
	entries []*entry
	listed  map[string]bool // content IDs met this run, listed or retried
	stats   *StreamStats
	touched map[string]bool // partial content IDs met this run
	// failures in a row: past maxFailuresInARow the content type stops,
	// for then the API is failing, not one blob.
	failures int
	// renewed counts retried blobs that failed again this run.
	renewed int
}

// runner is one run's working state.
type runner struct {
	ctx   context.Context
	src   Source
	opt   Options
	clock ServerClock
	log   *slog.Logger
	st    *State
	out   *Outcome
	// now, end and floor are the API's: its time at the start of the run,
	// the end of listings (now − Settle) and the earliest listing start
	// (now − Retention + SafetyMargin).
	now, end, floor time.Time
	runs            []*streamRun
	stopped         bool // max_fetch reached
	blobsDone       int  // blobs handed back by Download this run
	// heldShort are retried blobs whose nearby record hashes did not all
	// fit in MaxHeldRecords this run.
	heldShort []string
}

// Run lists, downloads and dedupes one fetch run. prev is the decoded
// lastRun (nil on a first run); it is updated in place and returned as
// Outcome.State.
func Run(ctx context.Context, src Source, prev *State, opt Options) *Outcome {
	r := newRunner(ctx, src, prev, opt)
	r.retryDue()
	r.listAndDeliver()
	if r.out.Err == nil && ctx.Err() != nil {
		r.out.Err = stoppedErr(ctx)
	}
	for _, sr := range r.runs {
		r.placeCursor(sr)
		if sr.s.Cursor.After(sr.start) {
			r.out.Advanced = true
		}
	}
	r.prune()
	return r.finish()
}

func newRunner(ctx context.Context, src Source, prev *State, opt Options) *runner {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := opt.Server
	if clk == nil {
		clk = fixedClock(opt.Now.UTC())
	}
	st := prev
	if st == nil {
		st = NewState()
	}
	r := &runner{ctx: ctx, src: src, opt: opt, clock: clk, log: log, st: st}
	r.now = clk.Now().UTC()
	r.end = r.now.Add(-Settle).Truncate(time.Second)
	r.floor = floorAt(r.now)
	r.out = &Outcome{State: st, Diagnostics: &Diagnostics{RunAt: r.now.Format(wireTime), Streams: map[string]*StreamStats{}}}
	r.checkTimes()
	r.runs = make([]*streamRun, len(opt.ContentTypes))
	for i, ct := range opt.ContentTypes {
		r.runs[i] = r.startStream(ct)
	}
	st.MigratedFrom = time.Time{}
	return r
}

// startStream finds where a content type continues: its position, or
// where a first run (or a migrated one) starts; a position beyond the 7
// days the API serves is corrected with a warning (one in the future was,
// by checkTimes).
func (r *runner) startStream(ct string) *streamRun {
	st := r.st
	s := st.Streams[ct]
	stats := &StreamStats{}
	r.out.Diagnostics.Streams[ct] = stats
	fresh := false
	if s == nil {
		start := r.now.Add(-r.opt.FirstFetch).Truncate(time.Second)
		if m := st.MigratedFrom; !m.IsZero() {
			start = m.Truncate(time.Second)
		} else if start.Before(r.floor) {
			r.warn("%s: first_fetch_delta reaches back to %s, but the API serves only the last 7 days; starting at %s.", ct, start.Format(wireTime), r.floor.Format(wireTime))
			start = r.floor
		}
		s = newStream(start, start)
		st.Streams[ct] = s
		fresh = st.MigratedFrom.IsZero()
	}
	sr := &streamRun{name: ct, s: s, fresh: fresh, stats: stats, touched: map[string]bool{}, listed: map[string]bool{}}
	if s.Cursor.Before(r.floor) {
		r.clamp(sr, r.floor)
	}
	if s.From.Before(r.floor) {
		s.From = r.floor
	}
	sr.next = s.From
	sr.start = s.Cursor
	return sr
}

// safePoint is where a content type whose position is in the future lists
// again: one overlap back from the API's now, or earlier when the state
// shows deliveries or partial blobs before that (everything delivered from
// the oldest of them on is in the dedupe set), never beyond the 7 days.
func (r *runner) safePoint(s *Stream) time.Time {
	safe := r.now.Add(-r.opt.Overlap)
	if t, ok := s.seen.oldest(); ok && t.Before(safe) {
		safe = t
	}
	for _, p := range s.Partials {
		if p.Created.Before(safe) {
			safe = p.Created
		}
	}
	if safe.Before(r.floor) {
		safe = r.floor
	}
	return safe.Truncate(time.Second)
}

// clamp moves a content type's position up to floor, the earliest start the
// API accepts, and says which period can no longer be fetched.
func (r *runner) clamp(sr *streamRun, floor time.Time) {
	s := sr.s
	if !s.Cursor.Before(floor) {
		return
	}
	lost := floor.Sub(s.Cursor)
	if !sr.fresh {
		r.warn("%s: the fetch position %s is more than 7 days old and the API serves only the last 7 days (minus a %s safety margin): content made available between %s and %s (%s) could not be fetched. Use a Microsoft Purview audit search for that period.",
			sr.name, s.Cursor.Format(wireTime), SafetyMargin, s.Cursor.Format(wireTime), floor.Format(wireTime), humanDuration(lost))
		sr.stats.LostUntil = floor.Format(wireTime)
	}
	s.Cursor = floor
	if s.From.Before(floor) {
		s.From = floor
	}
	// Partials older than the floor are beyond reach too.
	var keep []Partial
	for _, p := range s.Partials {
		if !p.Created.Before(floor) {
			keep = append(keep, p)
		}
	}
	s.Partials = keep
}

// listAndDeliver lists the content types' windows in lockstep on one
// 24-hour grid and delivers each window's new blobs merged by
// contentCreated, so the cursors of all content types advance together and
// max_fetch is shared fairly.
func (r *runner) listAndDeliver() {
	gridStart := r.end
	for _, sr := range r.runs {
		if sr.next.Before(gridStart) {
			gridStart = sr.next
		}
	}
	for ws := gridStart; r.refreshEnd(ws) && !r.stopped && r.out.Err == nil && r.ctx.Err() == nil; ws = ws.Add(MaxWindow) {
		we := ws.Add(MaxWindow)
		if we.After(r.end) {
			we = r.end
		}
		var batch []*entry
		var listings [][]activity.Blob
		for i, sr := range r.runs {
			if sr.failed != nil || !sr.next.Before(we) || !sr.next.Before(r.end) {
				continue
			}
			a := sr.next
			if a.Before(ws) {
				a = ws
			}
			blobs, a, err := r.list(sr, a, we)
			if err != nil {
				sr.failed, sr.failAt = err, a
				continue
			}
			listings = append(listings, blobs)
			sr.next = we
			sr.stats.LastListingEnd = we.Format(wireTime)
			batch = append(batch, r.newEntries(i, sr, a, blobs)...)
		}
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].created.Before(batch[j].created) })
		r.download(batch)
		// The window's descriptors are let go, so a run holds one
		// window's at a time whatever the catch-up: only the blobs not
		// delivered are kept (they place the cursor).
		for _, sr := range r.runs {
			sr.endWindow()
		}
		for _, blobs := range listings {
			r.src.ReleaseListing(blobs)
		}
	}
}

// endWindow forgets the window's delivered blobs: the cursor needs only
// those not delivered, and a blob met again in a later window (the API
// lists by contentCreated, so only a misbehaving one would) is recognized
// by the dedupe set once delivered. The blobs of the retry set stay met.
func (sr *streamRun) endWindow() {
	keep := sr.entries[:0]
	for _, e := range sr.entries {
		if !e.done {
			keep = append(keep, e)
		}
	}
	clear(sr.entries[len(keep):])
	sr.entries = keep
	listed := make(map[string]bool, len(sr.s.Retry)+len(keep))
	for _, x := range sr.s.Retry {
		listed[x.ContentID] = true
	}
	for _, e := range keep {
		listed[e.blob.ContentID] = true
	}
	sr.listed = listed
}

// refreshEnd moves the end of listings up when the API's clock, as learned
// from the answers so far, is later than planned (the run began before any
// answer told it), and reports whether ws is still before it.
func (r *runner) refreshEnd(ws time.Time) bool {
	if end := r.clock.Now().Add(-Settle).Truncate(time.Second); end.After(r.end) {
		r.end = end
	}
	return ws.Before(r.end)
}

// list lists one window. When the API refuses the window's times (AF20055,
// AF20030: the start is more than 7 days back by its clock), the start is
// recomputed from the API's clock, which the refusal's Date header has just
// updated, and the window is listed once more.
func (r *runner) list(sr *streamRun, a, we time.Time) ([]activity.Blob, time.Time, error) {
	sr.stats.Listings++
	blobs, err := r.src.ListContent(r.ctx, sr.name, a, we)
	if code := activity.ErrorCode(err); code != activity.CodeBadTimeWindow && code != activity.CodeBadTimeWindow2 {
		return blobs, a, err
	}
	if floor := floorAt(r.clock.Now()); floor.After(r.floor) {
		r.floor = floor
	}
	r.log.Info("the API refused the listing window; recomputing it from the API's clock", "contentType", sr.name, "start", a, "floor", r.floor, "error", err)
	if a.Before(r.floor) {
		r.clamp(sr, r.floor)
		a = r.floor
	}
	if !a.Before(we) {
		return nil, a, nil
	}
	sr.stats.Listings++
	blobs, err = r.src.ListContent(r.ctx, sr.name, a, we)
	return blobs, a, err
}

// newEntries turns one listing into the entries to deliver: a blob already
// delivered, met before in this run (listed twice) or waiting in the retry
// set is not downloaded.
func (r *runner) newEntries(ct int, sr *streamRun, a time.Time, blobs []activity.Blob) []*entry {
	var batch []*entry
	for _, b := range blobs {
		sr.stats.Listed++
		if sr.listed[b.ContentID] {
			continue
		}
		sr.listed[b.ContentID] = true
		created, err := b.Created()
		if err != nil {
			// Unparseable contentCreated: pin it at the window start,
			// which the next listing includes again.
			created = a
		}
		e := &entry{ct: ct, blob: b, created: created.UTC()}
		if findRetry(sr.s.Retry, b.ContentID) != nil {
			continue // retried on its own schedule; it does not pin the cursor
		}
		sr.entries = append(sr.entries, e)
		if sr.s.BlobDelivered(b.ContentID) {
			e.done = true
			sr.stats.AlreadyDone++
			continue
		}
		batch = append(batch, e)
	}
	return batch
}

// download hands the batch to the source and delivers each blob. With
// max_fetch, the batch goes in chunks sized to what the cut still needs
// (from the incidents per blob seen so far), so the client's read-ahead
// does not download blobs past the cut only to cancel them: those requests
// cost the tenant's quota.
func (r *runner) download(batch []*entry) {
	var err error
	for pos := 0; pos < len(batch) && err == nil && !r.stopped; {
		n := len(batch) - pos
		if r.opt.MaxFetch > 0 {
			n = min(n, chunkSize(r.opt.MaxFetch-len(r.out.Items), len(r.out.Items), r.blobsDone, r.opt.ReadAhead))
		}
		chunk := batch[pos : pos+n]
		pos += n
		blobs := make([]activity.Blob, len(chunk))
		for i, e := range chunk {
			blobs[i] = e.blob
		}
		idx := 0
		err = r.src.Download(r.ctx, blobs, func(_ activity.Blob, recs []activity.Record, derr error) error {
			e := chunk[idx]
			idx++
			r.blobsDone++
			return r.deliver(e, recs, derr)
		})
	}
	if err != nil && !errors.Is(err, errStop) {
		// Only the context ends a download early; everything not yet
		// handed to deliver stays undelivered. Said the same way wherever
		// the deadline caught the download.
		if r.ctx.Err() != nil {
			err = stoppedErr(r.ctx)
		}
		r.out.Err = err
	}
}

func (r *runner) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.out.Warnings = append(r.out.Warnings, msg)
	r.log.Warn(msg)
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

package fetch

import (
	"slices"
	"sort"
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
// type); but those kept only for a slower content type go, oldest first,
// once the record hashes exceed MaxRecordHashes, so a content type that
// lags cannot grow lastRun unbounded.
func (r *runner) prune() {
	var lo time.Time
	for i, sr := range r.runs {
		if i == 0 || sr.s.From.Before(lo) {
			lo = sr.s.From
		}
	}
	hold := r.holder()
	defer func() {
		if n := len(r.heldShort); n > 0 {
			r.warn("%d content blob(s) in the retry set (such as %s): more records were delivered around them than the %d whose hashes lastRun keeps for them, so when they can be fetched some of their records may be delivered a second time.",
				n, r.heldShort[0], MaxHeldRecords)
		}
	}()
	for _, sr := range r.runs {
		r.st.prune(sr.s, lo.Add(-r.opt.Overlap), hold)
	}
	// Over the budget: drop the oldest minutes kept for another content
	// type's sake.
	type kept struct {
		sr     *streamRun
		minute int64
		n      int
	}
	var extra []kept
	total := len(r.st.records)
	for _, sr := range r.runs {
		own := minuteOf(sr.s.From.Add(-r.opt.Overlap))
		for m, b := range sr.s.seen.buckets {
			if m < own {
				extra = append(extra, kept{sr, m, len(b.records)})
			}
		}
	}
	if total <= MaxRecordHashes || len(extra) == 0 {
		return
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].minute < extra[j].minute })
	for _, k := range extra {
		if total <= MaxRecordHashes {
			break
		}
		r.st.prune(k.sr.s, time.Unix((k.minute+1)*60, 0), hold)
		total = len(r.st.records)
	}
}

// holder decides which pruned record hashes the retry set keeps: those of
// minutes within one overlap of a retried blob's contentCreated (of any
// content type: a record can come again under another), so the records of
// that blob delivered already by other blobs are recognized when it
// succeeds. MaxHeldRecords bounds them (lastRun stays bounded); past it a
// warning says which blob may deliver records twice.
func (r *runner) holder() func(minute int64, records []uint64) bool {
	var xs []*Retry
	held := 0
	for _, sr := range r.runs {
		for _, x := range sr.s.Retry {
			xs = append(xs, x)
			held += len(x.held)
		}
	}
	short := map[string]bool{}
	return func(m int64, records []uint64) bool {
		kept := false
		for _, x := range xs {
			if m < minuteOf(x.Created.Add(-r.opt.Overlap)) || m > minuteOf(x.Created.Add(r.opt.Overlap)) {
				continue
			}
			if held+len(records) > MaxHeldRecords {
				if !short[x.ContentID] {
					short[x.ContentID] = true
					r.heldShort = append(r.heldShort, x.ContentID)
				}
				continue
			}
			x.held = append(x.held, records...)
			held += len(records)
			kept = true
		}
		return kept
	}
}

// releaseHeld forgets the record hashes a retried blob kept, once it has
// left the retry set, unless another retried blob keeps them too.
func (r *runner) releaseHeld(x *Retry) {
	if len(x.held) == 0 {
		return
	}
	others := map[uint64]bool{}
	for _, s := range r.st.Streams {
		for _, y := range s.Retry {
			if y != x {
				for _, h := range y.held {
					others[h] = true
				}
			}
		}
	}
	for _, h := range x.held {
		if !others[h] {
			delete(r.st.records, h)
		}
	}
	x.held = nil
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

package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// maxFailuresInARow is how many blobs of one content type may fail in a
// row, each going to the retry set, before the content type stops for the
// run: past that the API (or the way to it) is failing, not one blob, and
// the cursor waits at the next blob instead.
const maxFailuresInARow = 5

// deliver turns one downloaded blob into items: the records not delivered
// yet (by their Id, or their bytes when they have none), from the offset a
// max_fetch cut left, until max_fetch. derr is the download's failure.
func (r *runner) deliver(e *entry, recs []activity.Record, derr error) error {
	sr := r.runs[e.ct]
	if sr.failed != nil {
		return nil // left undelivered: the cursor stays before it
	}
	if derr != nil {
		return r.blobFailed(sr, e, derr)
	}
	sr.failures = 0
	sr.stats.Downloaded++
	start := 0
	if e.retry != nil {
		start = e.retry.Offset
	} else if p := findPartial(sr.s.Partials, e.blob.ContentID); p != nil {
		start = p.Offset
		sr.touched[e.blob.ContentID] = true
	}
	if start > len(recs) {
		// Not a position this blob can have: delivering it again is safe,
		// since records delivered already are recognized.
		r.warn("%s: lastRun says content blob %s was delivered up to record %d, but it holds %d records; delivering it from its first record (records already delivered are recognized and skipped).",
			sr.name, e.blob.ContentID, start, len(recs))
		start = 0
	}
	at := r.bucketTime(sr, e)
	for j := start; j < len(recs); j++ {
		rec := &recs[j]
		sr.stats.Records++
		h := recordHash(rec.ID, rec.Raw)
		if r.st.recordSeen(h) {
			sr.stats.Duplicates++
			continue
		}
		if !r.opt.Filter.Match(rec) {
			sr.stats.Filtered++
			continue
		}
		r.st.addRecord(sr.s, at, h)
		r.out.Items = append(r.out.Items, Item{ContentType: sr.name, ContentID: e.blob.ContentID, BlobCreated: e.created, Record: *rec})
		sr.stats.Incidents++
		if r.opt.MaxFetch > 0 && len(r.out.Items) >= r.opt.MaxFetch {
			r.stopped = true
			if j+1 < len(recs) {
				r.cut(sr, e, j+1)
			} else {
				r.delivered(sr, e)
			}
			return errStop
		}
	}
	r.delivered(sr, e)
	return nil
}

// bucketTime is the minute under which a blob's hashes are kept. A retried
// blob can be older than what the dedupe set still covers: its hashes are
// kept as long as those of the blobs listed now, so a record of it that
// comes again in a later blob is still recognized.
func (r *runner) bucketTime(sr *streamRun, e *entry) time.Time {
	if e.retry != nil && e.created.Before(sr.s.From) {
		return sr.s.From
	}
	return e.created
}

// delivered marks a blob fully delivered (or given up as gone): it goes to
// the dedupe set and leaves the partials and the retry set.
func (r *runner) delivered(sr *streamRun, e *entry) {
	sr.s.addBlob(e.blob.ContentID, r.bucketTime(sr, e))
	sr.s.Partials = dropPartial(sr.s.Partials, e.blob.ContentID)
	if e.retry != nil {
		sr.s.Retry = dropRetry(sr.s.Retry, e.blob.ContentID)
		r.releaseHeld(e.retry)
	}
	e.done = true
}

// cut remembers that a blob was delivered up to offset records.
func (r *runner) cut(sr *streamRun, e *entry, offset int) {
	if e.retry != nil {
		e.retry.Offset = offset // it stays in the retry set, due now
		return
	}
	sr.s.Partials = setPartial(sr.s.Partials, Partial{ContentID: e.blob.ContentID, Created: e.created, Offset: offset})
	sr.touched[e.blob.ContentID] = true
}

// blobFailed handles a blob that could not be downloaded or decoded. A
// blob that is gone is reported and passed; a blob that fails on its own
// (an HTTP error answer for it, a body that does not decode) goes to the
// retry set and the content type goes on; anything else (the token,
// throttling, the connection) stops the content type at this blob.
func (r *runner) blobFailed(sr *streamRun, e *entry, derr error) error {
	if r.ctx.Err() != nil {
		return stoppedErr(r.ctx)
	}
	var ce *activity.ContentError
	if activity.IsSkippable(derr) && !errors.As(derr, &ce) {
		// Gone (AF20050/51/52): nothing can fetch it again.
		if e.retry != nil {
			r.expire(sr, e.retry, derr.Error())
		} else {
			r.warn("%s: skipped content blob %s (contentCreated %s): %v", sr.name, e.blob.ContentID, e.blob.ContentCreated, derr)
		}
		sr.stats.Skipped++
		r.delivered(sr, e)
		return nil
	}
	if e.retry != nil {
		// Known to fail: failing again says nothing about the API, unless
		// the failure is not the blob's own.
		e.retry.failedAgain(r.now, derr)
		sr.renewed++
		e.done = true
		if !blobFault(derr) {
			sr.failed = derr
		}
		return nil
	}
	sr.failures++
	if !blobFault(derr) || e.blob.ContentURI == "" || sr.failures > maxFailuresInARow || retryCount(r.st) >= MaxRetryBlobs {
		if blobFault(derr) && retryCount(r.st) >= MaxRetryBlobs {
			derr = fmt.Errorf("%w (the retry set is full with %d blobs, so this content type waits at this blob)", derr, MaxRetryBlobs)
		}
		sr.failed = derr
		return nil
	}
	x := newRetry(e, r.now, derr)
	if p := findPartial(sr.s.Partials, e.blob.ContentID); p != nil {
		x.Offset = p.Offset
		sr.s.Partials = dropPartial(sr.s.Partials, e.blob.ContentID)
	}
	sr.s.Retry = append(sr.s.Retry, x)
	r.warn("%s: content blob %s (contentCreated %s) could not be fetched (%s); later blobs are delivered meanwhile, and it is fetched again on the next runs until it expires at %s.",
		sr.name, e.blob.ContentID, e.blob.ContentCreated, x.LastError, x.Created.Add(Retention).Format(wireTime))
	e.done = true
	return nil
}

// blobFault reports whether a download failure is this blob's own: an
// error answer about it (500, 403, …) or a body that does not decode. A
// 401, throttling, a token or connection failure concern every request.
func blobFault(err error) bool {
	var ce *activity.ContentError
	if errors.As(err, &ce) {
		return true
	}
	var ae *activity.APIError
	if errors.As(err, &ae) {
		return ae.Status != http.StatusUnauthorized && ae.Status != http.StatusTooManyRequests && ae.Code != activity.CodeThrottled
	}
	return false
}

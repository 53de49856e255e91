package fetch

import (
	"sort"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// The retry set: a blob that fails on its own (an error answer for it, a
// body that does not decode) must not hold back the blobs after it, nor be
// skipped. It is kept in lastRun with what is needed to fetch it without
// listing it again, and fetched again at the start of every run once its
// back-off has passed, until it succeeds or expires (7 days after
// contentCreated, or the API answers that it is gone), which is reported
// as a warning naming the blob and its records' window.
const (
	// MaxRetryBlobs bounds the retry set over all content types, so
	// lastRun stays bounded (each entry is about 400 bytes). When it is
	// full, a content type waits at its next failing blob instead.
	MaxRetryBlobs = 100
	// retryBackoff is the wait after the first failure, doubling with
	// each one up to retryBackoffCap: a blob that heals is fetched again
	// within minutes, one that never does costs a few requests an hour.
	retryBackoff    = time.Minute
	retryBackoffCap = 15 * time.Minute
	// maxRetryError bounds the error text kept per blob.
	maxRetryError = 300
	// MaxHeldRecords bounds the record hashes the retry set keeps beyond
	// the dedupe set's horizon (about 9.5 bytes each in lastRun), so that
	// lastRun stays under 1 MiB at 1M records a day with a full retry set.
	MaxHeldRecords = 8192
)

func newRetry(e *entry, now time.Time, err error) *Retry {
	x := &Retry{ContentID: e.blob.ContentID, ContentURI: e.blob.ContentURI, Created: e.created, FirstFailure: now}
	x.failedAgain(now, err)
	return x
}

// failedAgain counts a failed attempt and schedules the next one.
func (x *Retry) failedAgain(now time.Time, err error) {
	x.Attempts++
	msg := err.Error()
	if len(msg) > maxRetryError {
		msg = strings.ToValidUTF8(msg[:maxRetryError], "") + "…"
	}
	x.LastError = msg
	wait := retryBackoffCap
	if x.Attempts <= 5 {
		wait = min(retryBackoff<<(x.Attempts-1), retryBackoffCap)
	}
	x.NextAttempt = now.Add(wait).Truncate(time.Second)
}

// retryDue fetches the blobs of the retry set whose back-off has passed,
// oldest first, before anything is listed; the expired ones are reported
// and dropped.
func (r *runner) retryDue() {
	var batch []*entry
	for i, sr := range r.runs {
		s := sr.s
		var keep []*Retry
		for _, x := range s.Retry {
			if !r.now.Before(x.Created.Add(Retention)) {
				r.expire(sr, x, "it is more than 7 days old and the API no longer serves it")
				r.releaseHeld(x)
				continue
			}
			keep = append(keep, x)
			sr.listed[x.ContentID] = true
			if x.NextAttempt.After(r.now) {
				continue
			}
			sr.stats.Retried++
			b := activity.Blob{ContentType: sr.name, ContentID: x.ContentID, ContentURI: x.ContentURI, ContentCreated: x.Created.Format("2006-01-02T15:04:05.000Z")}
			batch = append(batch, &entry{ct: i, blob: b, created: x.Created, retry: x})
		}
		s.Retry = keep
	}
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].created.Before(batch[j].created) })
	r.download(batch)
	// Failures in a row count again from the listing on.
	for _, sr := range r.runs {
		sr.failures = 0
	}
}

// expire reports a blob of the retry set that is given up (the caller
// drops it): its records are lost to fetching and the warning says where
// to find them.
func (r *runner) expire(sr *streamRun, x *Retry, why string) {
	sr.stats.Expired++
	r.warn("%s: gave up on content blob %s (contentCreated %s): %s. It had failed since %s (%d attempts, last error: %s). Its records were not delivered: search the Microsoft Purview audit log for %s records created from %s to %s (a blob holds records of up to a day before it became available).",
		sr.name, x.ContentID, x.Created.Format(wireTime), why, x.FirstFailure.Format(wireTime), x.Attempts, x.LastError,
		sr.name, x.Created.Add(-24*time.Hour).Format(wireTime), x.Created.Format(wireTime))
}

func findRetry(xs []*Retry, id string) *Retry {
	for _, x := range xs {
		if x.ContentID == id {
			return x
		}
	}
	return nil
}

func dropRetry(xs []*Retry, id string) []*Retry {
	out := xs[:0]
	for _, x := range xs {
		if x.ContentID != id {
			out = append(out, x)
		}
	}
	return out
}

// retryCount is the size of the retry set over all content types.
func retryCount(st *State) int {
	n := 0
	for _, s := range st.Streams {
		n += len(s.Retry)
	}
	return n
}

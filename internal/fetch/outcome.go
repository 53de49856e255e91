package fetch

import (
	"context"
	"errors"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// What a run hands back: the items to turn into incidents, the new state,
// and the diagnostics kept in lastRun for people; finish fills them in.

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
	Items       []Item // listing order (blob, then record); retried blobs first
	State       *State
	Diagnostics *Diagnostics
	Warnings    []string
	// Err is the first failure that stopped a content type (a listing, the
	// token, throttling, the deadline), nil when the run completed. A blob
	// that fails on its own goes to the retry set and is only a warning.
	Err error
	// Advanced is set when a content type's cursor moved forward in the
	// run (past windows it listed in full, blobs it delivered): a run
	// stopped early with no incident still made progress worth keeping.
	Advanced bool
}

// Diagnostics are stored in lastRun for people (the engine shows no war
// room for scheduled fetches); they are never read back.
type Diagnostics struct {
	// RunAt is the API's time when the run started.
	RunAt string `json:"run_at"`
	// ClockOffset says how far the engine's clock is from the API's, when
	// it is at least a second off.
	ClockOffset string                  `json:"clock_offset,omitempty"`
	Incidents   int                     `json:"incidents"`
	Limited     bool                    `json:"max_fetch_reached,omitempty"`
	Streams     map[string]*StreamStats `json:"streams,omitempty"`
	Warnings    []string                `json:"warnings,omitempty"`
	Error       string                  `json:"error,omitempty"`
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
	Retried        int    `json:"blobs_retried,omitempty"`
	Retrying       int    `json:"blobs_to_retry,omitempty"`
	Expired        int    `json:"blobs_expired,omitempty"`
	Records        int    `json:"records"`
	Duplicates     int    `json:"duplicate_records"`
	Filtered       int    `json:"filtered_records"`
	Incidents      int    `json:"incidents"`
	LagSeconds     int64  `json:"lag_seconds"`
	LostUntil      string `json:"lost_until,omitempty"`
	LastListingEnd string `json:"listed_until,omitempty"`
}

// finish reports the clock skew and fills the diagnostics.
func (r *runner) finish() *Outcome {
	out, st := r.out, r.st
	if out.Err != nil && !r.streamSaidStop() {
		// The deadline or a cancellation, met while downloading (a
		// content type stopped by it, or by its own failure, says so
		// below, with where it stopped).
		r.warn("%v; what was delivered is returned, and the next run continues exactly where this one stopped.", out.Err)
	}
	if d, ok := r.clock.Offset(); ok {
		out.Diagnostics.ClockOffset = offsetWords(d)
		if d >= SkewWarning || d <= -SkewWarning {
			r.warn("%s", SkewMessage(d))
		}
	} else if r.opt.Server != nil && r.listed() {
		r.warn("the API's answers carried no Date header, so times are taken from the engine's clock; if it is off, blobs may be skipped or listed too early (a proxy between the engine and Microsoft may drop the header)")
	}
	for _, sr := range r.runs {
		sr.stats.Retrying = len(sr.s.Retry)
		sr.stats.LagSeconds = int64(r.now.Sub(sr.s.Cursor) / time.Second)
		if sr.renewed > 0 {
			oldest := sr.s.Retry[0]
			for _, x := range sr.s.Retry {
				if x.FirstFailure.Before(oldest.FirstFailure) {
					oldest = x
				}
			}
			r.warn("%s: %d content blob(s) failed again and stay in the retry set (the oldest, %s, has failed since %s: %s); later blobs are delivered meanwhile.",
				sr.name, sr.renewed, oldest.ContentID, oldest.FirstFailure.Format(wireTime), oldest.LastError)
		}
		if sr.failed != nil {
			if out.Err == nil {
				out.Err = sr.failed
			}
			r.warn("%s: stopped at %s: %v", sr.name, sr.s.Cursor.Format(wireTime), sr.failed)
		}
	}
	out.Diagnostics.Incidents = len(out.Items)
	out.Diagnostics.Limited = r.stopped
	out.Diagnostics.Warnings = out.Warnings
	if out.Err != nil {
		out.Diagnostics.Error = out.Err.Error()
	}
	out.Diagnostics.BlobHashes, out.Diagnostics.RecordHashes = st.Sizes()
	return out
}

// listed reports whether any listing was answered this run.
func (r *runner) listed() bool {
	for _, sr := range r.runs {
		if sr.stats.LastListingEnd != "" {
			return true
		}
	}
	return false
}

// streamSaidStop reports whether a content type was stopped by the run's
// context (its warning then says so).
func (r *runner) streamSaidStop() bool {
	for _, sr := range r.runs {
		if errors.Is(sr.failed, context.DeadlineExceeded) || errors.Is(sr.failed, context.Canceled) {
			return true
		}
	}
	return false
}

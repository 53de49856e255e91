package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// TestFetchLastRunSize measures lastRun for a tenant producing 1M records
// a day at the default overlap, fetched every minute, in steady state: with
// no failing blob, and with 100 blobs that fail on every run (the retry set
// full, each holding the record hashes around it up to MaxHeldRecords).
// The dedupe set is filled directly (no HTTP): what is measured is the
// encoding of what a steady-state run keeps.
//
//	go test ./internal/fetch -run TestFetchLastRunSize -v
func TestFetchLastRunSize(t *testing.T) {
	for _, failing := range []int{0, MaxRetryBlobs} {
		raw, st, warnings := steadyLastRun(t, failing)
		blobs, records := st.Sizes()
		retries := len(st.Streams["Audit.General"].Retry)
		t.Logf("lastRun at 1M records/day, overlap 1h, %d failing blobs (%d in the retry set): %d bytes (%.2f MiB), %d blob hashes, %d record hashes (%.2f bytes/record), %d warnings in the last run",
			failing, retries, len(raw), float64(len(raw))/(1<<20), blobs, records, float64(len(raw))/float64(records), warnings)
		if retries != failing {
			t.Errorf("%d blobs in the retry set, want %d", retries, failing)
		}
		if len(raw) > 1<<20 {
			t.Errorf("lastRun is %d bytes, above 1 MiB", len(raw))
		}
	}
}

// steadyLastRun runs a first fetch over 2h10m, then, with no failing
// blob, one run a minute for five minutes (the steady state); with failing
// blobs (four of every minute from the first, up to failing), runs 30 and 60
// minutes later, by which time the failing blobs are past the dedupe
// horizon and hold the record hashes around them up to MaxHeldRecords.
func steadyLastRun(t *testing.T, failing int) (json.RawMessage, *State, int) {
	t.Helper()
	const perDay = 1_000_000
	const recordsPerBlob = 100
	overlap := time.Hour
	src := &steadySource{now: t0, perMinute: perDay / (24 * 60), perBlob: recordsPerBlob, fail: map[string]bool{}}
	first := t0.Add(-130 * time.Minute).Truncate(time.Minute)
	for n, m := 0, first; n < failing; m = m.Add(time.Minute) {
		// Four of the seven blobs of a minute: five failures in a row
		// would stop the content type (an outage, not failing blobs).
		for b := 0; b < 4 && n < failing; b++ {
			src.fail[fmt.Sprintf("%d$%d", m.Unix(), b)] = true
			n++
		}
	}
	steps := []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute}
	if failing > 0 {
		steps = []time.Duration{0, 30 * time.Minute, 60 * time.Minute}
	}
	var st *State
	var raw json.RawMessage
	var out *Outcome
	for _, d := range steps {
		src.now = t0.Add(d)
		// Decode what the previous run wrote, as the engine hands it back.
		if raw != nil {
			var err error
			if st, err = Decode(raw); err != nil {
				t.Fatal(err)
			}
		}
		out = Run(context.Background(), src, st, Options{
			Now: src.now, ContentTypes: []string{"Audit.General"}, Overlap: overlap, FirstFetch: 130 * time.Minute, MaxFetch: 1 << 30,
		})
		if out.Err != nil {
			t.Fatal(out.Err)
		}
		var err error
		if raw, err = out.State.Encode(out.Diagnostics); err != nil {
			t.Fatal(err)
		}
	}
	return raw, out.State, len(out.Warnings)
}

// steadySource is an in-memory Source producing perMinute records a
// minute in blobs of perBlob, each blob available one minute after its
// records (no HTTP, so the size test is quick).
type steadySource struct {
	now       time.Time
	perMinute int
	perBlob   int
	fail      map[string]bool // "minute$index" of the blobs that fail to download
}

// steadyBlobURI is a content URI as long as the API's.
const steadyBlobURI = "https://manage.office.com/api/v1.0/6ba7b810-9dad-11d1-80b4-00c04fd430c8/activity/feed/audit/"

func (s *steadySource) ListContent(_ context.Context, ct string, start, end time.Time) ([]activity.Blob, error) {
	var out []activity.Blob
	for m := start.Truncate(time.Minute); m.Before(end); m = m.Add(time.Minute) {
		if m.Before(start) {
			continue
		}
		for b := 0; b*s.perBlob < s.perMinute; b++ {
			// Content IDs as long as the API's.
			id := fmt.Sprintf("%d$%d$audit_general$Audit_General$na0034", m.Unix(), b)
			out = append(out, activity.Blob{ContentType: ct, ContentID: id, ContentURI: steadyBlobURI + id, ContentCreated: m.Format("2006-01-02T15:04:05.000Z")})
		}
	}
	return out, nil
}

func (s *steadySource) ReleaseListing([]activity.Blob) {}

func (s *steadySource) Download(_ context.Context, blobs []activity.Blob, fn func(activity.Blob, []activity.Record, error) error) error {
	for _, b := range blobs {
		var idx int
		var minute int64
		fmt.Sscanf(b.ContentID, "%d$%d", &minute, &idx)
		if s.fail[fmt.Sprintf("%d$%d", minute, idx)] {
			err := &activity.APIError{Op: "download blob", Status: 500, Code: activity.CodeInternal, Message: "An internal error occurred. Retry the request.", Attempts: 6}
			if err := fn(b, nil, fmt.Errorf("download content blob %s: %w", b.ContentID, err)); err != nil {
				return err
			}
			continue
		}
		n := min(s.perBlob, s.perMinute-idx*s.perBlob)
		recs := make([]activity.Record, n)
		for i := range recs {
			recs[i] = activity.Record{ID: fmt.Sprintf("%08x-%04x-4000-8000-%012x", minute, idx, i)}
		}
		if err := fn(b, recs, nil); err != nil {
			return err
		}
	}
	return nil
}

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
// a day at the default overlap, fetched every minute, in steady state.
// The dedupe set is filled directly (no HTTP): what is measured is the
// encoding of what a steady-state run keeps.
func TestFetchLastRunSize(t *testing.T) {
	const perDay = 1_000_000
	const recordsPerBlob = 100
	now := t0
	overlap := time.Hour
	src := &steadySource{now: now, perMinute: perDay / (24 * 60), perBlob: recordsPerBlob}
	var st *State
	var raw json.RawMessage
	// A first run over 2h10m fills the horizon (records are kept for two
	// overlaps behind the cursor), then a run every minute reaches the
	// steady state.
	for m := 0; m <= 5; m++ {
		src.now = now.Add(time.Duration(m) * time.Minute)
		out := Run(context.Background(), src, st, Options{
			Now: src.now, ContentTypes: []string{"Audit.General"}, Overlap: overlap, FirstFetch: 130 * time.Minute, MaxFetch: 1 << 30,
		})
		if out.Err != nil {
			t.Fatal(out.Err)
		}
		st = out.State
		var err error
		if raw, err = st.Encode(out.Diagnostics); err != nil {
			t.Fatal(err)
		}
	}
	blobs, records := st.Sizes()
	t.Logf("lastRun at 1M records/day, overlap 1h, one run a minute: %d bytes (%.2f MiB), %d blob hashes, %d record hashes (%.2f bytes/record)",
		len(raw), float64(len(raw))/(1<<20), blobs, records, float64(len(raw))/float64(records))
	if len(raw) > 1<<20 {
		t.Errorf("lastRun is %d bytes, above 1 MiB", len(raw))
	}
}

// steadySource is an in-memory Source producing perMinute records a
// minute in blobs of perBlob, each blob available one minute after its
// records (no HTTP, so the size test is quick).
type steadySource struct {
	now       time.Time
	perMinute int
	perBlob   int
}

func (s *steadySource) ListContent(_ context.Context, ct string, start, end time.Time) ([]activity.Blob, error) {
	var out []activity.Blob
	for m := start.Truncate(time.Minute); m.Before(end); m = m.Add(time.Minute) {
		if m.Before(start) {
			continue
		}
		for b := 0; b*s.perBlob < s.perMinute; b++ {
			out = append(out, activity.Blob{ContentType: ct, ContentID: fmt.Sprintf("%d$%d", m.Unix(), b), ContentCreated: m.Format("2006-01-02T15:04:05.000Z")})
		}
	}
	return out, nil
}

func (s *steadySource) Download(_ context.Context, blobs []activity.Blob, fn func(activity.Blob, []activity.Record, error) error) error {
	for _, b := range blobs {
		var idx int
		var minute int64
		fmt.Sscanf(b.ContentID, "%d$%d", &minute, &idx)
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

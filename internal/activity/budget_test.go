package activity

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestDownloadInFlightBudget: whatever the parallelism, the bytes of blobs
// downloaded but not yet delivered stay within twice the per-blob cap (the
// blob being delivered plus one cap's worth of read-ahead). Before, up to
// 2 × parallelism whole blobs were held at once.
func TestDownloadInFlightBudget(t *testing.T) {
	const blobs, recsPer = 24, 400
	rec := `{"Id":"%d-%d","CreationTime":"2026-11-28T10:00:00","Data":"` + strings.Repeat("x", 1000) + `"}`
	bodies := make([]string, blobs)
	for b := range bodies {
		parts := make([]string, recsPer)
		for i := range parts {
			parts[i] = fmt.Sprintf(rec, b, i)
		}
		bodies[b] = "[" + strings.Join(parts, ",") + "]"
	}
	blobBytes := int64(len(bodies[0]))
	srv := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], "%d", &i)
		w.Write([]byte(bodies[i]))
	})
	for _, par := range []int{8, 32} {
		maxBlob := 2 * blobBytes
		c := hostileClient(t, srv.URL, func(cfg *Config) { cfg.Concurrency = par; cfg.MaxBlobBytes = maxBlob })
		list := make([]Blob, blobs)
		for i := range list {
			list[i] = Blob{ContentID: fmt.Sprint(i), ContentURI: fmt.Sprintf("%s/api/v1.0/contoso/activity/feed/audit/%d", srv.URL, i)}
		}
		var peak int64
		delivered := 0
		err := c.Download(context.Background(), list, func(b Blob, recs []Record, err error) error {
			if err != nil {
				return err
			}
			peak = max(peak, c.budget.inFlight())
			delivered++
			return nil
		})
		if err != nil || delivered != blobs {
			t.Fatalf("P%d: %d delivered, %v", par, delivered, err)
		}
		if limit := 2 * maxBlob; peak > limit {
			t.Errorf("P%d: %d bytes in flight at a delivery, more than twice the per-blob cap (%d)", par, peak, limit)
		}
		if peak < blobBytes {
			t.Errorf("P%d: in-flight bytes %d not counted", par, peak)
		}
		if n := c.budget.inFlight(); n != 0 {
			t.Errorf("P%d: %d bytes still counted after Download", par, n)
		}
	}
}

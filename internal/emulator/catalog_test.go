package emulator

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/catalog"
)

// TestRecordsUseCatalogValues: every workload and operation the emulator
// writes is one the filters accept without the "!" escape, so the demo's
// and the README's filters work as written.
func TestRecordsUseCatalogValues(t *testing.T) {
	for _, ct := range contentTypes {
		g := newGeneration("contoso", ct, 0, Generation{Seed: 7, Blobs: 40, RecordsPerBlob: 50, Span: time.Hour})
		seen := map[string]bool{}
		for p := range 40 {
			var recs []struct{ Workload, Operation string }
			if err := json.Unmarshal(g.renderBlob(p), &recs); err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if seen[r.Workload+"/"+r.Operation] {
					continue
				}
				seen[r.Workload+"/"+r.Operation] = true
				if _, ok := catalog.CanonicalWorkload(r.Workload); !ok {
					t.Errorf("%s: workload %q is not in catalog.Workloads", ct, r.Workload)
				}
				if !catalog.KnownOperation(r.Operation) {
					t.Errorf("%s: operation %q is not in catalog.Operations", ct, r.Operation)
				}
			}
		}
		t.Logf("%s: %d workload/operation pairs", ct, len(seen))
	}
}

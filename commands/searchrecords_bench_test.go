package commands

import (
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// BenchmarkSearchRecordsCommand is search-records by one user over 20 blobs
// × 500 records: decoding and matching dominate, as in a week-long search
// (internal/bench -search times that as a whole process).
func BenchmarkSearchRecordsCommand(b *testing.B) {
	f := newBenchFeed(b, 20, 500)
	env := &Envelope{Command: CmdSearchRecords, Params: f.params(nil), Args: map[string]any{
		"content_types": "Audit.General", "user_ids": "megan.bowen@contoso.onmicrosoft.com", "limit": "100000",
		"start_time": activity.FormatTime(f.start.Add(-6 * time.Hour)), "end_time": activity.FormatTime(f.end),
	}}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchCPU()
	for b.Loop() {
		runEncoded(b, env, f.deps)
	}
	b.StopTimer()
	reportPerRecord(b, f.records, f.blobBytes, cpu0)
	allocsPerRecord(b, f.records, func() { runEncoded(b, env, f.deps) })
}

package activity

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// BenchmarkDownload lists and downloads 200 blobs × 500 records from the
// emulator with 50 ms of latency per request, at parallelism 1 and 8, and
// reports records/s. Run it with:
//
//	go test ./activity -run '^$' -bench BenchmarkDownload -benchtime 1x -benchmem
func BenchmarkDownload(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprint("parallelism-", conc), func(b *testing.B) {
			srv := emulator.NewServer()
			defer srv.Close()
			srv.AddTenant(tenant)
			srv.Subscribe(tenant, "Audit.General")
			now := srv.Now()
			gen := srv.Generate(tenant, emulator.Generation{
				Seed: 1, ContentTypes: []string{"Audit.General"}, Blobs: 200, RecordsPerBlob: 500,
				Start: now.Add(-26 * time.Hour), Span: 20 * time.Hour, Delay: 30 * time.Minute,
			})
			srv.SetLatency(50 * time.Millisecond)
			tok, _ := srv.IssueToken(tenant, 24*time.Hour)
			c, err := New(Config{
				BaseURL: srv.BaseURL(), HTTP: srv.Client(), Tokens: StaticToken(tok),
				Clock: clock.Real{}, Concurrency: conc, RequestsPerMinute: 1 << 20,
			})
			if err != nil {
				b.Fatal(err)
			}
			start, end := gen.FirstCreated.Add(-time.Second), gen.LastCreated.Add(time.Second)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := testutil.ProcessCPU()
			records := 0
			for b.Loop() {
				blobs, err := c.ListContent(context.Background(), "Audit.General", start, end)
				if err != nil {
					b.Fatal(err)
				}
				if len(blobs) != 200 {
					b.Fatalf("%d blobs listed", len(blobs))
				}
				err = c.Download(context.Background(), blobs, func(_ Blob, recs []Record, err error) error {
					records += len(recs)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(records)/(testutil.ProcessCPU()-cpu0).Seconds(), "records/cpu-s")
		})
	}
}

package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/params"
)

// rssChildEnv carries "base URL|token|parallelism" to the child process of
// BenchmarkFetchPeakRSS.
const rssChildEnv = "MSMA_TEST_RSS_CHILD"

// TestFetchRSSChild is the child of BenchmarkFetchPeakRSS: one
// fetch-incidents run against the parent's emulator (skipped otherwise).
func TestFetchRSSChild(t *testing.T) {
	spec := os.Getenv(rssChildEnv)
	if spec == "" {
		t.Skip("only run as BenchmarkFetchPeakRSS's child")
	}
	parts := strings.Split(spec, "|")
	base, tok, par := parts[0], parts[1], parts[2]
	deps := &Deps{
		Clock:       clock.NewFake(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)),
		HTTPClient:  func(p *params.Params) *http.Client { return &http.Client{Timeout: p.Timeout} },
		TokenSource: func(context.Context, *Env) (activity.TokenSource, error) { return activity.StaticToken(tok), nil },
		LimitMemory: func(n int64) { debug.SetMemoryLimit(n) }, // as main does
	}
	envl := &Envelope{Command: CmdFetchIncidents, Params: map[string]any{
		"base_url": base, "download_concurrency": par, "first_fetch_delta": "1 day",
		"content_types_to_fetch": "Audit.General", "workloads_filter": "Exchange", "max_fetch": "10000",
	}}
	out, code := Run(context.Background(), envl, deps)
	if code != ExitOK {
		b, _ := json.Marshal(out)
		t.Fatalf("exit %d: %s", code, b)
	}
	// The process's own peak (VmHWM is per address space; wait4's
	// ru_maxrss would include the launcher's, shared until exec).
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println("peak-rss", strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")))
		}
	}
}

// BenchmarkFetchPeakRSS reports the peak RSS of a fetch-incidents process
// that downloads 8 content blobs of 50 MiB each (1 KiB records, none
// matching the filter, so the incidents do not count) at download
// parallelism 8 and 32, with the default max_blob_mb (64): the bar is
// 2 × max_blob_mb + 64 MiB = 192 MiB.
func BenchmarkFetchPeakRSS(b *testing.B) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	srv := emulator.NewServer(emulator.WithClock(clock.NewFake(now)))
	defer srv.Close()
	srv.AddTenant("contoso")
	srv.Subscribe("contoso", "Audit.General")
	pad := strings.Repeat("x", 880)
	for blob := 0; blob < 8; blob++ {
		var recs []json.RawMessage
		for size := 0; size < 50<<20; {
			r := json.RawMessage(fmt.Sprintf(`{"Id":"rss-%d-%07d","CreationTime":"2026-11-28T09:00:00","RecordType":1,"Operation":"FileAccessed","Workload":"SharePoint","UserId":"u@contoso.com","Data":"%s"}`, blob, len(recs), pad))
			recs = append(recs, r)
			size += len(r) + 1
		}
		srv.AddBlob("contoso", "Audit.General", now.Add(-3*time.Hour+time.Duration(blob)*time.Minute), recs...)
	}
	tok, _ := srv.IssueToken("contoso", 24*time.Hour)
	for _, par := range []string{"8", "32"} {
		b.Run("P"+par, func(b *testing.B) {
			var peak int64
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestFetchRSSChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), rssChildEnv+"="+srv.BaseURL()+"|"+tok+"|"+par)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				var kb int64
				for _, line := range strings.Split(string(out), "\n") {
					if _, err := fmt.Sscanf(line, "peak-rss %d kB", &kb); err == nil {
						peak = max(peak, kb<<10)
					}
				}
				if kb == 0 {
					b.Skipf("the child reported no peak RSS:\n%s", out)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		})
	}
}

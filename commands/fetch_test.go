package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/params"
)

// fetchEmu is a plain-HTTP emulator on a fake clock with deps wired to it.
type fetchEmu struct {
	srv    *emulator.Server
	fake   *clock.Fake
	deps   *Deps
	tenant string
}

func newFetchEmu(t testing.TB, now time.Time) *fetchEmu {
	t.Helper()
	fake := clock.NewFake(now)
	srv := emulator.NewServer(emulator.WithClock(fake))
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport
	t.Cleanup(func() {
		if c, ok := tr.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	})
	e := &fetchEmu{srv: srv, fake: fake, tenant: "contoso"}
	e.deps = &Deps{
		Clock: fake,
		HTTPClient: func(p *params.Params) *http.Client {
			return &http.Client{Timeout: p.Timeout, Transport: tr}
		},
		TokenSource: func(context.Context, *Env) (activity.TokenSource, error) {
			tok, _ := srv.IssueToken(e.tenant, 24*time.Hour)
			return activity.StaticToken(tok), nil
		},
	}
	return e
}

// close stops the emulator and drops its client's idle connections.
func (e *fetchEmu) close() {
	if c, ok := e.srv.Client().Transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	e.srv.Close()
}

// fetchRun runs fetch-incidents with lastRun; it returns the output and exit code.
func (e *fetchEmu) fetchRun(p map[string]any, lastRun json.RawMessage) (*Output, int) {
	ps := map[string]any{"base_url": e.srv.BaseURL()}
	for k, v := range p {
		ps[k] = v
	}
	return Run(context.Background(), &Envelope{Command: CmdFetchIncidents, Params: ps, LastRun: lastRun}, e.deps)
}

func lastRunOf(t testing.TB, out *Output) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(out.LastRun)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fetchRecord(id, workload, op string, created time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"CreationTime":%q,"Id":%q,"Operation":%q,"OrganizationId":"org-1","RecordType":1,"UserKey":"k","UserType":0,"Workload":%q,"UserId":"u@contoso.com","ClientIP":"10.0.0.1"}`,
		created.Format("2006-01-02T15:04:05"), id, op, workload))
}

// BenchmarkFetchThroughput measures draining 100k records (1,000 blobs of
// 100) at 50 ms emulator latency over successive runs of max_fetch 10000,
// with the default download_concurrency; it reports records per second and
// fetch runs. Timings are reported, never asserted:
//
//	go test ./commands -run '^$' -bench FetchThroughput -benchtime 1x
func BenchmarkFetchThroughput(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newFetchEmu(b, testNow)
		e.srv.Subscribe(e.tenant, "Audit.General")
		g := e.srv.Generate(e.tenant, emulator.Generation{
			Seed: 1, ContentTypes: []string{"Audit.General"}, Blobs: 1000, RecordsPerBlob: 100,
			Start: testNow.Add(-8 * time.Hour), Span: 6 * time.Hour, Lazy: true,
		})
		e.fake.Set(g.LastCreated.Add(2 * time.Minute))
		e.srv.SetLatency(50 * time.Millisecond)
		p := map[string]any{"max_fetch": 10000, "first_fetch_delta": "10 hours"}
		var lastRun json.RawMessage
		seen := map[string]bool{}
		runs := 0
		b.StartTimer()
		start := time.Now()
		for run := 1; run <= 20; run++ {
			out, code := e.fetchRun(p, lastRun)
			if code != 0 {
				b.Fatalf("run %d failed: %v", run, out.Results)
			}
			runs++
			lastRun = lastRunOf(b, out)
			for _, inc := range *out.Incidents {
				if seen[inc.DbotMirrorID] {
					b.Fatalf("duplicate %s", inc.DbotMirrorID)
				}
				seen[inc.DbotMirrorID] = true
			}
			if len(*out.Incidents) == 0 {
				break
			}
			e.fake.Advance(time.Minute)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		want := len(e.srv.Records(e.tenant, "Audit.General", time.Time{}, e.srv.Now()))
		if len(seen) != want {
			b.Fatalf("delivered %d records, want %d", len(seen), want)
		}
		b.ReportMetric(float64(len(seen))/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(runs), "runs")
		e.close()
	}
}

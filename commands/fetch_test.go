package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
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

// TestFetchThroughput measures fetching 100k records at 50 ms emulator
// latency over successive runs of max_fetch 10000. It reports timings only
// (never pass/fail on them) and runs when FETCH_BENCH=1:
//
//	FETCH_BENCH=1 go test ./commands -run TestFetchThroughput -v
func TestFetchThroughput(t *testing.T) {
	if os.Getenv("FETCH_BENCH") == "" {
		t.Skip("set FETCH_BENCH=1 to measure")
	}
	e := newFetchEmu(t, testNow)
	defer e.close()
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
	total := time.Now()
	for run := 1; run <= 12; run++ {
		wall := time.Now()
		out, code := e.fetchRun(p, lastRun)
		if code != 0 {
			t.Fatalf("run %d failed: %v", run, out.Results)
		}
		lastRun = lastRunOf(t, out)
		for _, inc := range *out.Incidents {
			if seen[inc.DbotMirrorID] {
				t.Fatalf("duplicate %s", inc.DbotMirrorID)
			}
			seen[inc.DbotMirrorID] = true
		}
		t.Logf("run %d: %d incidents in %s (lastRun %d bytes)", run, len(*out.Incidents), time.Since(wall).Round(time.Millisecond), len(lastRun))
		if len(*out.Incidents) == 0 {
			break
		}
		e.fake.Advance(time.Minute)
	}
	want := len(e.srv.Records(e.tenant, "Audit.General", time.Time{}, e.fake.Now()))
	t.Logf("%d of %d records in %s at 50 ms latency (max_fetch 10000, download_concurrency 8)", len(seen), want, time.Since(total).Round(time.Millisecond))
	if len(seen) != want {
		t.Errorf("delivered %d records, want %d", len(seen), want)
	}
}

package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// Issue 12's defects, through the dispatcher against the emulator.

func incidentSet(t *testing.T, out *Output, into map[string]int) int {
	t.Helper()
	if out.Incidents == nil {
		return 0
	}
	for _, inc := range *out.Incidents {
		into[inc.DbotMirrorID]++
	}
	return len(*out.Incidents)
}

func outputWarnings(out *Output) string {
	var sb strings.Builder
	for _, r := range out.Results {
		if s, ok := r.Contents.(string); ok {
			sb.WriteString(s)
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

// TestFetchHostClockAhead: with the engine 2 hours ahead of the API, runs
// after the first used to return nothing and move the cursor to host-now,
// losing every record published later with an earlier contentCreated.
func TestFetchHostClockAhead(t *testing.T) {
	e := newFetchEmu(t, testNow)
	e.srv.SetClockOffset(-(2*time.Hour + 3*time.Minute)) // the API is behind the host
	e.srv.Subscribe(e.tenant, "Audit.General")
	p := map[string]any{"content_types_to_fetch": "Audit.General", "first_fetch_delta": "1 hour"}
	want := map[string]bool{}
	n := 0
	publish := func(late time.Duration) {
		now := e.srv.Now()
		for i := 0; i < 4; i++ {
			n++
			id := fmt.Sprintf("r-%d", n)
			created := now.Add(-late)
			e.srv.AddBlob(e.tenant, "Audit.General", created, fetchRecord(id, "Exchange", "Op", created.Add(-time.Minute)))
			want[id] = true
		}
	}
	got := map[string]int{}
	var lastRun json.RawMessage
	for run := 0; run < 12; run++ {
		// Blobs made available a while ago become listable only now.
		publish(time.Duration(run%4) * 10 * time.Minute)
		e.fake.Advance(5 * time.Minute)
		out, code := e.fetchRun(p, lastRun)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %v", run, code, out.Results)
		}
		if run == 0 && !strings.Contains(outputWarnings(out), "the engine's clock is 2h03m ahead of Microsoft's; times are taken from the API") {
			t.Errorf("no skew warning: %q", outputWarnings(out))
		}
		if n := incidentSet(t, out, got); n == 0 {
			t.Errorf("run %d delivered nothing while records were waiting", run)
		}
		lastRun = lastRunOf(t, out)
	}
	e.fake.Advance(5 * time.Minute)
	out, _ := e.fetchRun(p, lastRun)
	incidentSet(t, out, got)
	for id := range want {
		if got[id] != 1 {
			t.Errorf("record %s delivered %d times", id, got[id])
		}
	}
}

// TestFetchHostClockBehind: 2 hours behind with first_fetch_delta 7 days,
// every run used to fail with AF20055.
func TestFetchHostClockBehind(t *testing.T) {
	e := newFetchEmu(t, testNow)
	e.srv.SetClockOffset(2 * time.Hour)
	e.srv.Subscribe(e.tenant, "Audit.General")
	old := e.srv.Now().Add(-6 * 24 * time.Hour)
	e.srv.AddBlob(e.tenant, "Audit.General", old, fetchRecord("six-days", "Exchange", "Op", old))
	p := map[string]any{"content_types_to_fetch": "Audit.General", "first_fetch_delta": "7 days"}
	out, code := e.fetchRun(p, nil)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, out.Results)
	}
	got := map[string]int{}
	if incidentSet(t, out, got); got["six-days"] != 1 {
		t.Fatalf("incidents %v", got)
	}
	if w := outputWarnings(out); !strings.Contains(w, "2h00m behind Microsoft's") {
		t.Errorf("no skew warning: %q", w)
	}
}

// TestFetchFutureCursor: a cursor in the future (ours or the reference's
// last_fetch) used to stop fetching for good with exit 0 and no warning.
func TestFetchFutureCursor(t *testing.T) {
	for name, lastRun := range map[string]string{
		"ours":      `{"version":1,"streams":{"Audit.General":{"cursor":"2027-12-01T00:00:00Z","from":"2027-12-01T00:00:00Z"}}}`,
		"reference": `{"last_fetch":"2099-01-01T00:00:00"}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newFetchEmu(t, testNow)
			e.srv.Subscribe(e.tenant, "Audit.General")
			e.srv.AddBlob(e.tenant, "Audit.General", testNow.Add(-20*time.Minute), fetchRecord("r-1", "Exchange", "Op", testNow.Add(-30*time.Minute)))
			out, code := e.fetchRun(map[string]any{"content_types_to_fetch": "Audit.General"}, json.RawMessage(lastRun))
			if code != 0 {
				t.Fatalf("exit %d: %v", code, out.Results)
			}
			got := map[string]int{}
			if incidentSet(t, out, got); got["r-1"] != 1 {
				t.Fatalf("incidents %v", got)
			}
			if w := outputWarnings(out); !strings.Contains(w, "is in the future") {
				t.Errorf("no warning: %q", w)
			}
			if cur := cursorOf(t, lastRunOf(t, out), "Audit.General"); cur.After(testNow) {
				t.Errorf("the future position was written back: %s", cur)
			}
		})
	}
}

// TestFetchPoisonBlob: one blob answering 500 (or 403) among ten used to
// fail every run and hold back the blobs after it for 7 days.
func TestFetchPoisonBlob(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newFetchEmu(t, testNow)
			e.srv.Subscribe(e.tenant, "Audit.General")
			var ids []string
			for i := 0; i < 10; i++ {
				c := testNow.Add(-50*time.Minute + time.Duration(i)*time.Minute)
				ids = append(ids, e.srv.AddBlob(e.tenant, "Audit.General", c, fetchRecord(fmt.Sprintf("r-%d", i), "Exchange", "Op", c)))
			}
			e.srv.BreakBlob(ids[4], status)
			p := map[string]any{"content_types_to_fetch": "Audit.General", "first_fetch_delta": "1 hour"}
			got := map[string]int{}
			var lastRun json.RawMessage
			for run := 1; run <= 4; run++ {
				if run == 4 {
					e.srv.HealBlob(ids[4])
				}
				out, code := e.fetchRun(p, lastRun)
				if code != 0 {
					t.Fatalf("run %d: exit %d: %v", run, code, out.Results)
				}
				n := incidentSet(t, out, got)
				if run == 1 && (n != 9 || !strings.Contains(outputWarnings(out), ids[4])) {
					t.Fatalf("run 1: %d incidents, warnings %q; want the 9 good blobs and a warning naming the bad one", n, outputWarnings(out))
				}
				lastRun = lastRunOf(t, out)
				e.fake.Advance(20 * time.Minute)
			}
			for i := 0; i < 10; i++ {
				if id := fmt.Sprintf("r-%d", i); got[id] != 1 {
					t.Errorf("%s delivered %d times", id, got[id])
				}
			}
		})
	}
}

// TestFetchLastRunHygiene: a versioned lastRun without streams used to
// restart silently from first_fetch_delta; garbage diagnostics used to make
// the whole lastRun refused.
func TestFetchLastRunHygiene(t *testing.T) {
	e := newFetchEmu(t, testNow)
	e.srv.Subscribe(e.tenant, "Audit.General")
	e.srv.AddBlob(e.tenant, "Audit.General", testNow.Add(-20*time.Minute), fetchRecord("r-1", "Exchange", "Op", testNow.Add(-30*time.Minute)))
	p := map[string]any{"content_types_to_fetch": "Audit.General"}
	for _, lr := range []string{`{"version":1}`, `{"version":1,"streams":{}}`} {
		out, code := e.fetchRun(p, json.RawMessage(lr))
		if code != 1 || !strings.Contains(outputWarnings(out), "Reset the last run") {
			t.Errorf("%s: exit %d %q, want exit 1 saying how to start over", lr, code, outputWarnings(out))
		}
	}
	out, code := e.fetchRun(p, json.RawMessage(`{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T11:00:00Z","from":"2026-11-28T11:00:00Z"}},"diagnostics":"not an object"}`))
	if code != 0 || out.Incidents == nil || len(*out.Incidents) != 1 {
		t.Errorf("garbage diagnostics: exit %d: %v", code, out.Results)
	}
}

// TestSkewReported: test-module fails on a skew above 5 minutes (Entra ID's
// tolerance), passes under it; list-content warns from a minute on.
func TestSkewReported(t *testing.T) {
	for _, tc := range []struct {
		apiAhead time.Duration
		ok       bool
	}{{2 * time.Minute, true}, {-4 * time.Minute, true}, {6 * time.Minute, false}, {-(2*time.Hour + 3*time.Minute), false}} {
		e := newFetchEmu(t, testNow)
		e.srv.SetClockOffset(tc.apiAhead)
		e.srv.Subscribe(e.tenant, "Audit.General")
		var logs testutil.SyncBuffer
		deps := *e.deps
		deps.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		out, code := Run(context.Background(), &Envelope{Command: CmdTestModule, Params: map[string]any{"base_url": e.srv.BaseURL()}}, &deps)
		msg := outputWarnings(out)
		if tc.ok && (code != 0 || strings.TrimSpace(msg) != "ok") {
			t.Errorf("API %s ahead: exit %d %q, want ok", tc.apiAhead, code, msg)
		}
		// Below the failure threshold test-module still answers a bare
		// "ok" (XSOAR reads it), and says the skew on stderr.
		if tc.ok && !strings.Contains(logs.String(), "clock is") {
			t.Errorf("API %s ahead: test-module's log does not name the skew:\n%s", tc.apiAhead, logs.String())
		}
		if !tc.ok && (code != 1 || !strings.Contains(msg, "clock is") || !strings.Contains(msg, "NTP")) {
			t.Errorf("API %s ahead: exit %d %q, want a failure naming the skew", tc.apiAhead, code, msg)
		}
	}
	e := newFetchEmu(t, testNow)
	e.srv.SetClockOffset(-(2*time.Hour + 3*time.Minute))
	e.srv.Subscribe(e.tenant, "Audit.General")
	out, code := Run(context.Background(), &Envelope{Command: CmdListContent, Params: map[string]any{"base_url": e.srv.BaseURL()}, Args: map[string]any{"content_type": "Audit.General"}}, e.deps)
	if w := outputWarnings(out); code != 0 || !strings.Contains(w, "the engine's clock is 2h03m ahead of Microsoft's; times are taken from the API") {
		t.Errorf("list-content: exit %d %q", code, w)
	}
	out, code = Run(context.Background(), &Envelope{Command: CmdSearchRecords, Params: map[string]any{"base_url": e.srv.BaseURL()}, Args: map[string]any{"content_types": "Audit.General", "user_ids": "nobody@contoso.com"}}, e.deps)
	if w := outputWarnings(out); code != 0 || !strings.Contains(w, "the engine's clock is 2h03m ahead of Microsoft's; times are taken from the API") {
		t.Errorf("search-records: exit %d %q", code, w)
	}
}

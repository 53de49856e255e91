package commands

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/params"
)

// slowTransport makes every request take perRequest of fake time: a slow
// tenant, on the injected clock. A request whose context ends meanwhile
// (the budget passed) fails as it would on the wire.
type slowTransport struct {
	base       http.RoundTripper
	fake       *clock.Fake
	perRequest time.Duration
}

func (s slowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err // a request already cancelled takes no time
	}
	s.fake.Advance(s.perRequest)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return s.base.RoundTrip(req)
}

// slowRig is a rig whose API answers every request after 3 s of fake time.
func slowRig(t *testing.T, blobs, perBlob int) (*rig, *Deps) {
	t.Helper()
	r := newRig(t, false)
	r.addBlobs(blobs, perBlob)
	d := r.deps()
	tr := r.srv.Client().Transport
	d.HTTPClient = func(p *params.Params) *http.Client {
		return &http.Client{Timeout: p.Timeout, Transport: slowTransport{tr, r.fake, 3 * time.Second}}
	}
	return r, d
}

func (r *rig) budgetEnvelope(command string, budget float64, args map[string]any, lastRun json.RawMessage) []byte {
	r.t.Helper()
	envl := map[string]any{"command": command, "params": r.params, "args": args, "budgetSeconds": budget}
	if lastRun != nil {
		envl["lastRun"] = lastRun
	}
	raw, err := json.Marshal(envl)
	if err != nil {
		r.t.Fatal(err)
	}
	return raw
}

// TestBudgetFetchStopsInTimeAndContinues: with a 20 s budget against a
// tenant that takes 3 s per request, a fetch returns before the budget with
// the incidents it has and a lastRun the next run continues from; over the
// runs every record arrives once: 0 lost, 0 duplicated. All on the fake
// clock: no wall-time wait.
func TestBudgetFetchStopsInTimeAndContinues(t *testing.T) {
	r, deps := slowRig(t, 12, 5) // 60 records; ~5 blobs fit in a run
	seen := map[string]int{}
	var lastRun json.RawMessage
	runs, cut := 0, 0
	for len(seen) < len(r.records) && runs < 10 {
		runs++
		start := r.fake.Now()
		res := runEnvelopeCtx(t, context.Background(), r.budgetEnvelope(CmdFetchIncidents, 20, nil, lastRun), deps)
		got := checkProtocol(t, CmdFetchIncidents, res, nil)
		elapsed := r.fake.Now().Sub(start)
		if res.code != 0 {
			t.Fatalf("run %d: exit %d after %s: %s", runs, res.code, elapsed, res.stdout)
		}
		if elapsed >= 20*time.Second {
			t.Errorf("run %d took %s of the 20 s budget: the engine would have killed it", runs, elapsed)
		}
		if len(*got.Incidents) == 0 {
			t.Fatalf("run %d delivered nothing: no progress under the budget", runs)
		}
		for _, raw := range *got.Incidents {
			var inc struct{ RawJSON string }
			var rec struct{ Id string }
			if json.Unmarshal(raw, &inc) != nil || json.Unmarshal([]byte(inc.RawJSON), &rec) != nil {
				t.Fatalf("run %d: bad incident %s", runs, raw)
			}
			seen[rec.Id]++
		}
		if strings.Contains(string(got.LastRun), "ran out of time") {
			cut++
		}
		t.Logf("run %d: %d incidents in %s of fake time", runs, len(*got.Incidents), elapsed)
		lastRun = got.LastRun
	}
	lost, dup := 0, 0
	for _, id := range r.records {
		switch seen[id] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	t.Logf("%d records in %d runs, %d of them stopped by the budget", len(r.records), runs, cut)
	if lost != 0 || dup != 0 || len(seen) != len(r.records) {
		t.Errorf("%d lost, %d duplicated (%d distinct of %d)", lost, dup, len(seen), len(r.records))
	}
	if runs < 2 || cut == 0 {
		t.Errorf("%d runs, %d stopped by the budget: the budget never cut a run, so the test proves nothing", runs, cut)
	}
}

// TestBudgetListContentReturnsWhatItHas: list-content that runs out of its
// budget while downloading shows the records so far and warns that the list
// is incomplete, before the budget.
func TestBudgetListContentReturnsWhatItHas(t *testing.T) {
	r, deps := slowRig(t, 12, 5)
	start := r.fake.Now()
	args := map[string]any{"content_type": "Audit.General", "start_time": faultNow.Add(-4 * time.Hour).Format(time.RFC3339), "end_time": faultNow.Format(time.RFC3339)}
	res := runEnvelopeCtx(t, context.Background(), r.budgetEnvelope(CmdListContent, 20, args, nil), deps)
	got := checkProtocol(t, CmdListContent, res, nil)
	if elapsed := r.fake.Now().Sub(start); elapsed >= 20*time.Second {
		t.Errorf("took %s of the 20 s budget", elapsed)
	}
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stdout)
	}
	ids := contentIDs(t, res.out)
	if len(ids) == 0 || len(ids) >= len(r.records) {
		t.Errorf("%d records of %d: want the part downloaded before the budget", len(ids), len(r.records))
	}
	for i, id := range ids {
		if id != r.records[i] {
			t.Fatalf("record %d is %s, want %s: the partial list is not a prefix", i, id, r.records[i])
		}
	}
	var warning string
	for _, e := range got.Results {
		if e.Type != nil && *e.Type == 11 {
			warning, _ = e.Contents.(string)
		}
	}
	if !strings.Contains(warning, "incomplete") || !strings.Contains(warning, "of 12 content blobs") {
		t.Errorf("warning %q: want it to say the list is incomplete and how far it got", warning)
	}
	if !strings.Contains(got.Results[0].HumanReadable, "incomplete") {
		t.Errorf("the table does not say it is incomplete")
	}
}

func TestWorkBudget(t *testing.T) {
	for _, c := range []struct {
		budget float64
		want   time.Duration
	}{
		{0, 0}, {150, 140 * time.Second}, {20, 18 * time.Second}, {2, 1800 * time.Millisecond}, {600, 590 * time.Second},
	} {
		if got := (&Envelope{BudgetSeconds: c.budget}).WorkBudget(); got != c.want {
			t.Errorf("budget %v s: work %s, want %s", c.budget, got, c.want)
		}
	}
	for _, bad := range []string{`{"command":"test-module","budgetSeconds":-1}`, `{"command":"test-module","budgetSeconds":1e9}`, `{"command":"test-module","budgetSeconds":"150"}`} {
		if _, err := DecodeEnvelope([]byte(bad)); err == nil || !strings.Contains(err.Error(), "budgetSeconds") {
			t.Errorf("%s: %v, want an envelope error naming budgetSeconds", bad, err)
		}
	}
}

// TestBudgetQuietCatchUpAdvances: a 7-day catch-up of a quiet tenant (one
// blob, 3 hours ago, after 7 empty 24-hour windows) on an API that takes 3 s
// per request, with a 20 s budget: no run can list every window, and none
// delivers an incident until the last window. A run that hit the deadline
// with no incident used to fail (exit 1) and throw away the windows it had
// listed, so every run started again 7 days back and the catch-up never
// ended. Now it returns the lastRun it reached (its cursor past the empty
// windows it fully listed, never past a blob not delivered) with a warning,
// exit 0, and the next run continues there: the blob arrives, once.
func TestBudgetQuietCatchUpAdvances(t *testing.T) {
	r, deps := slowRig(t, 1, 2)
	r.params["first_fetch_delta"] = "7 days"
	seen := map[string]int{}
	var lastRun json.RawMessage
	var cursors []string
	for run := 1; run <= 4 && len(seen) < len(r.records); run++ {
		start := r.fake.Now()
		res := runEnvelopeCtx(t, context.Background(), r.budgetEnvelope(CmdFetchIncidents, 20, nil, lastRun), deps)
		got := checkProtocol(t, CmdFetchIncidents, res, nil)
		if elapsed := r.fake.Now().Sub(start); elapsed >= 20*time.Second {
			t.Errorf("run %d took %s of the 20 s budget", run, elapsed)
		}
		if res.code != 0 {
			t.Fatalf("run %d: exit %d: the windows listed before the deadline are lost and the next run starts 7 days back again:\n%s", run, res.code, res.stdout)
		}
		for _, raw := range *got.Incidents {
			var inc struct{ RawJSON string }
			var rec struct{ Id string }
			if json.Unmarshal(raw, &inc) != nil || json.Unmarshal([]byte(inc.RawJSON), &rec) != nil {
				t.Fatalf("run %d: bad incident %s", run, raw)
			}
			seen[rec.Id]++
		}
		var lr struct {
			Streams     map[string]struct{ Cursor string }
			Diagnostics struct {
				Error    string
				Warnings []string
			}
		}
		if err := json.Unmarshal(got.LastRun, &lr); err != nil {
			t.Fatalf("run %d: lastRun %s: %v", run, got.LastRun, err)
		}
		cur := lr.Streams["Audit.General"].Cursor
		if len(*got.Incidents) == 0 {
			// A run cut by the deadline says so, in an entry and in
			// lastRun, and moved the cursor forward.
			if !strings.Contains(lr.Diagnostics.Error, "ran out of time") || !strings.Contains(strings.Join(lr.Diagnostics.Warnings, "\n"), "ran out of time") || !strings.Contains(string(res.stdout), `"Type":11`) {
				t.Errorf("run %d: no warning that the run ran out of time: %s", run, res.stdout)
			}
			if len(cursors) > 0 && cur <= cursors[len(cursors)-1] {
				t.Errorf("run %d: cursor %s did not advance from %s", run, cur, cursors[len(cursors)-1])
			}
		}
		if blob := faultNow.Add(-3 * time.Hour).Format("2006-01-02T15:04:05Z"); cur > blob && seen[r.records[0]] == 0 {
			t.Fatalf("run %d: cursor %s passed the blob of %s, which was not delivered", run, cur, blob)
		}
		cursors = append(cursors, cur)
		t.Logf("run %d: %d incidents, cursor %s, warnings %q", run, len(*got.Incidents), cur, lr.Diagnostics.Warnings)
		lastRun = got.LastRun
	}
	for _, id := range r.records {
		if seen[id] != 1 {
			t.Errorf("record %s delivered %d times", id, seen[id])
		}
	}
}

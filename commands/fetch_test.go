package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
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

// TestFetchProperty drives the emulator through randomized schedules on a
// fake clock: records created continuously, blobs listed late (up to 50
// minutes, under the 1-hour overlap) and out of order, records re-delivered
// in later blobs (within the overlap), of other content types too, random
// 429/403-AF429/5xx/truncated answers, bursts of failures beyond the
// client's retries, runs killed (their result dropped), and a small
// max_fetch. The union of the delivered incidents must equal the emulator's
// records in scope: 0 lost, 0 duplicated. FETCH_PROPERTY_SEEDS overrides the
// number of schedules; FETCH_PROPERTY_SEED runs one.
func TestFetchProperty(t *testing.T) {
	n := 100
	if s := os.Getenv("FETCH_PROPERTY_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	first := 1
	if s := os.Getenv("FETCH_PROPERTY_SEED"); s != "" {
		first, _ = strconv.Atoi(s)
		n = 1
	}
	runs, incidents := 0, 0
	for seed := first; seed < first+n; seed++ {
		wall := time.Now()
		r, i, ok := fetchSchedule(t, uint64(seed))
		if os.Getenv("FETCH_DEBUG") != "" {
			t.Logf("seed %d: %d runs, %d incidents, %s", seed, r, i, time.Since(wall))
		}
		if !ok {
			t.Fatalf("schedule with seed %d failed; rerun it with FETCH_PROPERTY_SEED=%d go test ./commands -run TestFetchProperty -v", seed, seed)
		}
		runs += r
		incidents += i
	}
	t.Logf("%d schedules, %d fetch runs, %d incidents: 0 lost, 0 duplicated", n, runs, incidents)
}

func fetchSchedule(t *testing.T, seed uint64) (runs, delivered int, ok bool) {
	rnd := rand.New(rand.NewPCG(seed, 0xfe7c4))
	start := testNow
	e := newFetchEmu(t, start)
	defer e.close()
	all := emulator.ContentTypes()
	// Two or three subscribed content types, one more with content that is
	// never fetched.
	rnd.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	fetched := all[:2+rnd.IntN(2)]
	for _, ct := range fetched {
		e.srv.Subscribe(e.tenant, ct)
	}
	unfetched := all[len(all)-1]
	p := map[string]any{
		"max_fetch":         1 + rnd.IntN(25),
		"first_fetch_delta": "2 hours",
		"fetch_overlap":     "1 hour",
		// One download worker keeps the order of requests, and so the
		// random faults, the same for a seed (the parallel download order
		// is covered by the activity tests).
		"download_concurrency": 1,
	}
	if rnd.IntN(2) == 0 {
		p["content_types_to_fetch"] = strings.Join(fetched, ",")
	}
	filterWorkload := ""
	if rnd.IntN(4) == 0 {
		filterWorkload = "Exchange"
		p["workloads_filter"] = "exchange"
	}
	e.srv.SetPageSize([]int{3, 10, 50, 200}[rnd.IntN(4)])
	firstFetch := start.Add(-2 * time.Hour)
	// Out of scope: before the first fetch.
	e.srv.AddBlob(e.tenant, fetched[0], firstFetch.Add(-10*time.Minute), fetchRecord(fmt.Sprintf("old-%d", seed), "Exchange", "Old", firstFetch.Add(-time.Hour)))

	type recent struct {
		raw     json.RawMessage
		created time.Time
	}
	var pool []recent
	nrec := 0
	addBlobs := func(k int, maxLate time.Duration) {
		now := e.fake.Now()
		for ; k > 0; k-- {
			late := time.Duration(rnd.Int64N(int64(maxLate)))
			created := now.Add(-late)
			if created.Before(firstFetch) {
				created = firstFetch
			}
			var recs []json.RawMessage
			for j := 1 + rnd.IntN(8); j > 0; j-- {
				nrec++
				wl := []string{"Exchange", "SharePoint", "AzureActiveDirectory"}[rnd.IntN(3)]
				r := fetchRecord(fmt.Sprintf("s%d-r%d", seed, nrec), wl, "Op", created.Add(-time.Duration(rnd.Int64N(int64(2*time.Hour)))))
				recs = append(recs, r)
			}
			// Re-deliver a record of a blob created within the last 30
			// minutes (same Id, same bytes).
			for _, pr := range pool {
				if rnd.IntN(6) == 0 && created.Sub(pr.created).Abs() < 30*time.Minute {
					recs = append(recs, pr.raw)
					break
				}
			}
			ct := fetched[rnd.IntN(len(fetched))]
			if rnd.IntN(10) == 0 {
				ct = unfetched
			}
			rnd.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
			e.srv.AddBlob(e.tenant, ct, created, recs...)
			for _, r := range recs {
				pool = append(pool, recent{r, created})
			}
			if len(pool) > 30 {
				pool = pool[len(pool)-30:]
			}
		}
	}
	// Blobs before the first run, over the first-fetch window.
	for i := 0; i < 6; i++ {
		e.fake.Set(firstFetch.Add(time.Duration(i+1) * 20 * time.Minute))
		addBlobs(1+rnd.IntN(2), 20*time.Minute)
	}
	e.fake.Set(start)
	faults := []emulator.Fault{emulator.Throttle(0), emulator.ThrottleAF429, emulator.Status(500), emulator.Status(503), emulator.InternalError, emulator.TruncatedJSON}
	e.srv.SetRandomFaults(int64(seed), 0.03+0.07*rnd.Float64(), faults...)

	got := map[string]int{}
	gotRaw := map[string]string{}
	var lastRun json.RawMessage
	// The scope starts first_fetch_delta before the first run whose result
	// was kept (a failed or killed first run does not count).
	var scopeStart time.Time
	fetchOnce := func(killable bool) int {
		at := e.fake.Now()
		wall := time.Now()
		out, code := e.fetchRun(p, lastRun)
		if d := time.Since(wall); d > 100*time.Millisecond && os.Getenv("FETCH_DEBUG") != "" {
			t.Logf("slow run %d: %s code %d", runs, d, code)
		}
		runs++
		if code != 0 {
			return 0 // failed run: the engine keeps lastRun
		}
		if killable && rnd.IntN(6) == 0 {
			return 0 // killed: result dropped
		}
		if lastRun == nil {
			scopeStart = at.Add(-2 * time.Hour).Truncate(time.Second)
		}
		lastRun = lastRunOf(t, out)
		if os.Getenv("FETCH_DEBUG") != "" {
			t.Logf("run %d at %s: %d incidents, lastRun %.600s", runs, e.fake.Now().Format(time.RFC3339), len(*out.Incidents), lastRun)
		}
		for _, inc := range *out.Incidents {
			if os.Getenv("FETCH_DEBUG") != "" {
				t.Logf("  incident %s", inc.DbotMirrorID)
			}
			got[inc.DbotMirrorID]++
			gotRaw[inc.DbotMirrorID] = inc.RawJSON
		}
		delivered += len(*out.Incidents)
		return len(*out.Incidents)
	}
	steps := 20
	for step := 0; step < steps; step++ {
		e.fake.Advance(time.Duration(1+rnd.IntN(6)) * time.Minute)
		addBlobs(rnd.IntN(4), 50*time.Minute)
		if rnd.IntN(8) == 0 {
			// More failures than the client's retries: the run fails or
			// stops early.
			ep := []string{"blob", "subscriptions/content"}[rnd.IntN(2)]
			e.srv.FailNext(ep, 8, emulator.Status(502))
		}
		fetchOnce(true)
	}
	// Drain: no new content, no faults, until a run delivers nothing.
	e.srv.ClearFaults()
	e.fake.Advance(2 * time.Minute)
	for i := 0; i < 1000; i++ {
		if fetchOnce(false) == 0 {
			break
		}
		e.fake.Advance(time.Minute)
	}

	if os.Getenv("FETCH_DEBUG") != "" {
		t.Logf("requests: list %d, blob %d, subs %d", e.srv.Count("subscriptions/content"), e.srv.Count("blob"), e.srv.Count("subscriptions/list"))
	}
	want := map[string]string{}
	for _, ct := range fetched {
		for _, r := range e.srv.Records(e.tenant, ct, scopeStart, e.fake.Now()) {
			var rec struct{ Workload string }
			_ = json.Unmarshal(r.Raw, &rec)
			if filterWorkload != "" && rec.Workload != filterWorkload {
				continue
			}
			want[r.ID] = string(r.Raw)
		}
	}
	ok = true
	lost, dup := 0, 0
	for id, raw := range want {
		switch got[id] {
		case 0:
			lost++
			if lost <= 5 {
				t.Errorf("seed %d: record %s lost", seed, id)
			}
		case 1:
			if gotRaw[id] != raw {
				t.Errorf("seed %d: record %s: rawJSON differs from the emulator's bytes", seed, id)
				ok = false
			}
		default:
			dup++
			t.Errorf("seed %d: record %s delivered %d times", seed, id, got[id])
		}
	}
	for id := range got {
		if _, in := want[id]; !in {
			t.Errorf("seed %d: record %s delivered but not in scope", seed, id)
			ok = false
		}
	}
	if lost+dup > 0 {
		t.Errorf("seed %d: %d lost, %d duplicated of %d (params %v)", seed, lost, dup, len(want), p)
		ok = false
	}
	return runs, delivered, ok
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

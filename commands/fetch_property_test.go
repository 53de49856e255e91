package commands

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// TestFetchProperty drives the emulator through randomized schedules on a
// fake clock: records created continuously, blobs listed late (up to 50
// minutes, under the 1-hour overlap) and out of order, records re-delivered
// in later blobs (within the overlap), of other content types too, random
// 429/403-AF429/5xx/truncated answers, bursts of failures beyond the
// client's retries, runs killed (their result dropped), a small max_fetch;
// and, for issue 12, an engine clock off the API's by −3 h…+3 h that jumps
// forward and back between runs, blobs that answer 500 or 403 on every
// download until healed after some runs or never, and lastRuns whose
// cursor was pushed into the future. The union of the delivered incidents
// must equal the emulator's records in scope: 0 lost, except the records
// of blobs that never healed and expired, each named in a warning; 0
// duplicated; and in the drain, no run delivers nothing while a record is
// deliverable. FETCH_PROPERTY_SEEDS overrides the number of schedules;
// FETCH_PROPERTY_SEED runs one.
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
	var total propertyStats
	for seed := first; seed < first+n; seed++ {
		st, ok := fetchSchedule(t, uint64(seed))
		if !ok {
			t.Fatalf("schedule with seed %d failed; rerun it with FETCH_PROPERTY_SEED=%d go test ./commands -run TestFetchProperty -v", seed, seed)
		}
		total.add(st)
	}
	t.Logf("%d schedules (%d with a skewed engine clock, %d clock jumps), %d fetch runs, %d records in scope, %d incidents: %d lost, %d duplicated; %d blobs broken (%d healed), %d expired while failing (%d records, each blob named in a warning); %d future cursors injected",
		n, total.skewed, total.jumps, total.runs, total.records, total.incidents, total.lost, total.duplicated, total.broken, total.healed, total.expiredBlobs, total.expiredRecords, total.futures)
}

type propertyStats struct {
	runs, incidents, records, lost, duplicated int
	skewed, jumps, broken, healed, futures     int
	expiredBlobs, expiredRecords               int
}

func (p *propertyStats) add(o propertyStats) {
	p.runs += o.runs
	p.incidents += o.incidents
	p.records += o.records
	p.lost += o.lost
	p.duplicated += o.duplicated
	p.skewed += o.skewed
	p.jumps += o.jumps
	p.broken += o.broken
	p.healed += o.healed
	p.futures += o.futures
	p.expiredBlobs += o.expiredBlobs
	p.expiredRecords += o.expiredRecords
}

// propertyBlob is one blob the schedule added.
type propertyBlob struct {
	id, ct  string
	created time.Time // the API's time
	recs    []string  // record Ids
}

func fetchSchedule(t *testing.T, seed uint64) (stats propertyStats, ok bool) {
	debug := os.Getenv("FETCH_DEBUG") != ""
	rnd := rand.New(rand.NewPCG(seed, 0xfe7c4))
	start := testNow
	e := newFetchEmu(t, start)
	defer e.close()

	// The engine's clock is hostAhead ahead of the API's. The API's clock
	// never jumps: moving the engine's clock moves the fake clock (the
	// engine's) and the emulator's offset the other way.
	hostAhead := time.Duration(0)
	setHostAhead := func(d time.Duration) {
		e.fake.Advance(d - hostAhead)
		e.srv.SetClockOffset(-d)
		hostAhead = d
	}
	skewed := rnd.IntN(4) != 0
	randomOffset := func() time.Duration {
		return time.Duration(rnd.Int64N(int64(6*time.Hour))) - 3*time.Hour
	}
	if skewed {
		stats.skewed = 1
		setHostAhead(randomOffset())
	}
	apiNow := e.srv.Now

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
	firstFetch := start.Add(-2 * time.Hour) // the API's time
	// Out of scope: before the first fetch.
	e.srv.AddBlob(e.tenant, fetched[0], firstFetch.Add(-10*time.Minute), fetchRecord(fmt.Sprintf("old-%d", seed), "Exchange", "Old", firstFetch.Add(-time.Hour)))

	type recent struct {
		raw     json.RawMessage
		id      string
		created time.Time
	}
	var pool []recent
	var blobs []*propertyBlob
	nrec := 0
	addBlobs := func(k int, maxLate time.Duration) {
		now := apiNow()
		for ; k > 0; k-- {
			late := time.Duration(rnd.Int64N(int64(maxLate)))
			created := now.Add(-late)
			if created.Before(firstFetch) {
				created = firstFetch
			}
			var recs []json.RawMessage
			var ids []string
			for j := 1 + rnd.IntN(8); j > 0; j-- {
				nrec++
				wl := []string{"Exchange", "SharePoint", "AzureActiveDirectory"}[rnd.IntN(3)]
				id := fmt.Sprintf("s%d-r%d", seed, nrec)
				recs = append(recs, fetchRecord(id, wl, "Op", created.Add(-time.Duration(rnd.Int64N(int64(2*time.Hour))))))
				ids = append(ids, id)
			}
			// Re-deliver a record of a blob created within the last 30
			// minutes (same Id, same bytes).
			for _, pr := range pool {
				if rnd.IntN(6) == 0 && created.Sub(pr.created).Abs() < 30*time.Minute {
					recs = append(recs, pr.raw)
					ids = append(ids, pr.id)
					break
				}
			}
			ct := fetched[rnd.IntN(len(fetched))]
			if rnd.IntN(10) == 0 {
				ct = unfetched
			}
			rnd.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i]; ids[i], ids[j] = ids[j], ids[i] })
			id := e.srv.AddBlob(e.tenant, ct, created, recs...)
			blobs = append(blobs, &propertyBlob{id: id, ct: ct, created: created, recs: ids})
			for i, r := range recs {
				pool = append(pool, recent{r, ids[i], created})
			}
			if len(pool) > 30 {
				pool = pool[len(pool)-30:]
			}
		}
	}
	// Blobs before the first run, over the first-fetch window.
	for i := 0; i < 6; i++ {
		e.fake.Set(firstFetch.Add(hostAhead + time.Duration(i+1)*20*time.Minute))
		addBlobs(1+rnd.IntN(2), 20*time.Minute)
	}
	e.fake.Set(start.Add(hostAhead))
	faults := []emulator.Fault{emulator.Throttle(0), emulator.ThrottleAF429, emulator.Status(500), emulator.Status(503), emulator.InternalError, emulator.TruncatedJSON}
	e.srv.SetRandomFaults(int64(seed), 0.03+0.07*rnd.Float64(), faults...)

	// Broken blobs: healAt is the run after which a blob heals (-1: never).
	broken := map[string]int{}
	never := map[string]bool{}
	breakOne := func() {
		var cands []*propertyBlob
		for _, b := range blobs {
			if _, isBroken := broken[b.id]; !isBroken && !b.created.After(apiNow()) {
				cands = append(cands, b)
			}
		}
		if len(cands) == 0 {
			return
		}
		b := cands[rnd.IntN(len(cands))]
		e.srv.BreakBlob(b.id, []int{http.StatusInternalServerError, http.StatusForbidden}[rnd.IntN(2)])
		stats.broken++
		if rnd.IntN(4) == 0 {
			broken[b.id] = -1
			never[b.id] = true
		} else {
			broken[b.id] = stats.runs + 1 + rnd.IntN(6)
		}
	}
	healDue := func(all bool) {
		for id, at := range broken {
			if at >= 0 && (all || stats.runs >= at) {
				e.srv.HealBlob(id)
				delete(broken, id)
				stats.healed++
			}
		}
	}

	ok = true
	got := map[string]int{}
	gotRaw := map[string]string{}
	var lastRun json.RawMessage
	var warnings []string
	// The scope starts first_fetch_delta before the first run whose result
	// was kept (a failed or killed first run does not count), by the API's
	// clock.
	var scopeStart time.Time
	fetchOnce := func(killable bool) int {
		at := apiNow()
		out, code := e.fetchRun(p, lastRun)
		stats.runs++
		if code != 0 {
			if debug {
				t.Logf("run %d at API %s failed: %.600v", stats.runs, at.Format(time.RFC3339), out.Results)
			}
			return 0 // failed run: the engine keeps lastRun
		}
		if killable && rnd.IntN(6) == 0 {
			return 0 // killed: result dropped
		}
		if lastRun == nil {
			scopeStart = at.Add(-2 * time.Hour).Truncate(time.Second)
		}
		lastRun = lastRunOf(t, out)
		warnings = append(warnings, outputWarnings(out))
		// Whatever the engine's clock says, no cursor passes the API's now.
		var lr struct {
			Streams map[string]struct{ Cursor time.Time } `json:"streams"`
		}
		_ = json.Unmarshal(lastRun, &lr)
		for ct, s := range lr.Streams {
			if s.Cursor.After(apiNow()) {
				t.Errorf("seed %d run %d: %s cursor %s is past the API's now %s (engine %s ahead)", seed, stats.runs, ct, s.Cursor, apiNow(), hostAhead)
				ok = false
			}
		}
		if debug {
			t.Logf("run %d at API %s (engine %+v): %d incidents, lastRun %s", stats.runs, at.Format(time.RFC3339), hostAhead, len(*out.Incidents), lastRun)
		}
		for _, inc := range *out.Incidents {
			if debug {
				t.Logf("  incident %s", inc.DbotMirrorID)
			}
			got[inc.DbotMirrorID]++
			gotRaw[inc.DbotMirrorID] = inc.RawJSON
		}
		stats.incidents += len(*out.Incidents)
		return len(*out.Incidents)
	}
	// injectFuture pushes one content type's cursor into the future the way
	// it happened: a run whose engine clock was ahead (before issue 12)
	// listed up to the engine's now and wrote it as the cursor. So only a
	// content type that had caught up (cursor within minutes of the API's
	// now, nothing partial or to retry) gets one; its real position is
	// lost, as it was then.
	injectFuture := func() {
		var w map[string]any
		if json.Unmarshal(lastRun, &w) != nil {
			return
		}
		streams, _ := w["streams"].(map[string]any)
		for _, v := range streams {
			s := v.(map[string]any)
			cur, err := time.Parse(time.RFC3339, fmt.Sprint(s["cursor"]))
			if err != nil || cur.Before(apiNow().Add(-10*time.Minute)) || s["partials"] != nil || s["retry"] != nil {
				continue
			}
			future := apiNow().Add(time.Hour + time.Duration(rnd.Int64N(int64(400*24*time.Hour)))).UTC().Format(time.RFC3339)
			s["cursor"], s["from"] = future, future
			lastRun, _ = json.Marshal(w)
			stats.futures++
			return
		}
	}

	steps := 20
	forward, back := rnd.IntN(steps), rnd.IntN(steps)
	for step := 0; step < steps; step++ {
		e.fake.Advance(time.Duration(1+rnd.IntN(6)) * time.Minute)
		if skewed && (step == forward || step == back) {
			// The engine's clock jumps (NTP fixed, or broken again).
			d := randomOffset()
			if step == forward && d < hostAhead {
				d = hostAhead + (3*time.Hour-hostAhead)/2
			}
			if step == back && d > hostAhead {
				d = hostAhead - (hostAhead+3*time.Hour)/2
			}
			setHostAhead(d)
			stats.jumps++
		}
		addBlobs(rnd.IntN(4), 50*time.Minute)
		if rnd.IntN(8) == 0 {
			// More failures than the client's retries: the run fails or
			// stops early.
			ep := []string{"blob", "subscriptions/content"}[rnd.IntN(2)]
			e.srv.FailNext(ep, 8, emulator.Status(502))
		}
		if rnd.IntN(6) == 0 {
			breakOne()
		}
		if lastRun != nil && rnd.IntN(8) == 0 {
			injectFuture()
		}
		healDue(false)
		fetchOnce(true)
	}

	want := func() map[string]string {
		out := map[string]string{}
		for _, ct := range fetched {
			for _, r := range e.srv.Records(e.tenant, ct, scopeStart, apiNow()) {
				var rec struct{ Workload string }
				_ = json.Unmarshal(r.Raw, &rec)
				if filterWorkload != "" && rec.Workload != filterWorkload {
					continue
				}
				out[r.ID] = string(r.Raw)
			}
		}
		return out
	}
	// deliverable: an undelivered record in scope with a healthy blob of a
	// fetched content type whose retry (if any) is due.
	isFetched := map[string]bool{}
	for _, ct := range fetched {
		isFetched[ct] = true
	}
	deliverable := func() []string {
		var lr struct {
			Streams map[string]struct {
				Retry []struct {
					ContentID   string    `json:"content_id"`
					NextAttempt time.Time `json:"next_attempt"`
				} `json:"retry"`
			} `json:"streams"`
		}
		_ = json.Unmarshal(lastRun, &lr)
		waiting := map[string]bool{}
		for _, s := range lr.Streams {
			for _, x := range s.Retry {
				if x.NextAttempt.After(apiNow()) {
					waiting[x.ContentID] = true
				}
			}
		}
		w := want()
		var out []string
		for _, b := range blobs {
			if _, isBroken := broken[b.id]; isBroken || waiting[b.id] || !isFetched[b.ct] || b.created.Before(scopeStart) {
				continue
			}
			for _, id := range b.recs {
				if _, in := w[id]; in && got[id] == 0 {
					out = append(out, id)
				}
			}
		}
		return out
	}

	// Drain: no new content, no faults, the healable blobs healed, until a
	// run delivers nothing and only never-healing blobs remain.
	e.srv.ClearFaults()
	healDue(true)
	e.fake.Advance(2 * time.Minute)
	for i := 0; i < 300; i++ {
		n := fetchOnce(false)
		if n == 0 {
			if d := deliverable(); len(d) > 0 {
				t.Errorf("seed %d: drain run %d delivered nothing while %d records were deliverable (e.g. %s)", seed, stats.runs, len(d), d[0])
				ok = false
				break
			}
			if !retrying(lastRun, never) {
				break
			}
		}
		e.fake.Advance(time.Duration(1+rnd.IntN(5)) * time.Minute)
	}
	// The blobs that never heal expire 7 days after they became available:
	// each is named in a warning.
	if len(never) > 0 {
		e.fake.Advance(7*24*time.Hour + time.Hour)
		fetchOnce(false)
	}
	allWarnings := strings.Join(warnings, "\n")
	expired := map[string]bool{}
	for _, b := range blobs {
		if never[b.id] && strings.Contains(allWarnings, "gave up on content blob "+b.id) {
			expired[b.id] = true
			stats.expiredBlobs++
		}
	}
	inExpired := func(id string) bool {
		for _, b := range blobs {
			if expired[b.id] {
				for _, r := range b.recs {
					if r == id {
						return true
					}
				}
			}
		}
		return false
	}

	w := want()
	stats.records = len(w)
	for id, raw := range w {
		switch got[id] {
		case 0:
			if inExpired(id) {
				stats.expiredRecords++
				continue
			}
			stats.lost++
			if stats.lost <= 5 {
				t.Errorf("seed %d: record %s lost", seed, id)
				for _, b := range blobs {
					if slices.Contains(b.recs, id) {
						_, isBroken := broken[b.id]
						t.Logf("  in blob %s (%s, created %s, broken now %v, never %v)", b.id, b.ct, b.created.Format(time.RFC3339), isBroken, never[b.id])
					}
				}
			}
		case 1:
			if gotRaw[id] != raw {
				t.Errorf("seed %d: record %s: rawJSON differs from the emulator's bytes", seed, id)
				ok = false
			}
		default:
			stats.duplicated++
			t.Errorf("seed %d: record %s delivered %d times", seed, id, got[id])
			for _, b := range blobs {
				if slices.Contains(b.recs, id) {
					t.Logf("  in blob %s (%s, created %s)", b.id, b.ct, b.created.Format(time.RFC3339))
				}
			}
		}
	}
	for id := range got {
		if _, in := w[id]; !in {
			t.Errorf("seed %d: record %s delivered but not in scope", seed, id)
			ok = false
		}
	}
	if stats.lost+stats.duplicated > 0 {
		t.Errorf("seed %d: %d lost, %d duplicated of %d (params %v)", seed, stats.lost, stats.duplicated, len(w), p)
		ok = false
	}
	return stats, ok
}

// retrying reports whether lastRun still retries a blob that is not in
// never.
func retrying(lastRun json.RawMessage, never map[string]bool) bool {
	var lr struct {
		Streams map[string]struct {
			Retry []struct {
				ContentID string `json:"content_id"`
			} `json:"retry"`
		} `json:"streams"`
	}
	_ = json.Unmarshal(lastRun, &lr)
	for _, s := range lr.Streams {
		for _, x := range s.Retry {
			if !never[x.ContentID] {
				return true
			}
		}
	}
	return false
}

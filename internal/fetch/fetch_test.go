package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// fakeBlob is one blob of the in-memory source.
type fakeBlob struct {
	ct, id    string
	created   time.Time
	visibleAt time.Time // listings show it from then on
	recs      []string  // record Ids
}

// fakeSource is an in-memory Source: listings filter on contentCreated in
// [start, end) and hide blobs not yet visible; downloads fail for ids in
// fail (once each).
type fakeSource struct {
	now   time.Time // the API's clock
	blobs []*fakeBlob
	fail  map[string]int
	lists int
	// hostAhead is how far the host clock is ahead of the API's; the run
	// learns the API's clock from the first answer (as from its Date).
	hostAhead time.Duration
	answered  bool
	noProbe   bool
	noDate    bool // answers carry no Date: the API's clock stays unknown
	failWith  map[string]error
	// listTwice lists every blob twice (as on two pages).
	listTwice bool
	downloads map[string]int
	// listed and released count the blobs ListContent returned and those
	// ReleaseListing gave back.
	listed, released int
	// maxHeld is the most blobs listed and not released when a listing
	// began.
	maxHeld int
}

// The fake source is also the run's ServerClock.
func (f *fakeSource) Now() time.Time {
	if !f.answered {
		return f.now.Add(f.hostAhead)
	}
	return f.now
}
func (f *fakeSource) Vouched() (time.Time, bool) { return f.now, f.answered }
func (f *fakeSource) Offset() (time.Duration, bool) {
	return f.hostAhead, f.answered
}

// blobError is how the fake source fails a download: an error answer for
// the blob, as the client reports it.
var blobError = &activity.APIError{Op: "download blob", Status: 500, Code: "AF50000", Message: "An internal error occurred."}

func (f *fakeSource) ListContent(_ context.Context, ct string, start, end time.Time) ([]activity.Blob, error) {
	f.lists++
	f.maxHeld = max(f.maxHeld, f.listed-f.released)
	f.answered = !f.noDate
	if f.fail["list:"+ct] > 0 {
		f.fail["list:"+ct]--
		return nil, errors.New("listing failed")
	}
	if end.Sub(start) > MaxWindow || start.Before(f.now.Add(-Retention)) {
		return nil, &activity.APIError{Op: "list content", Status: 400, Code: activity.CodeBadTimeWindow2, Message: fmt.Sprintf("bad window %s %s", start, end)}
	}
	var out []*fakeBlob
	for _, b := range f.blobs {
		if b.ct == ct && !b.created.Before(start) && b.created.Before(end) && !b.visibleAt.After(f.now) {
			out = append(out, b)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		return out[i].id < out[j].id
	})
	var res []activity.Blob
	for _, b := range out {
		res = append(res, activity.Blob{ContentType: ct, ContentID: b.id, ContentURI: "x/" + b.id, ContentCreated: b.created.Format("2006-01-02T15:04:05.000Z")})
		if f.listTwice {
			res = append(res, res[len(res)-1])
		}
	}
	f.listed += len(res)
	return res, nil
}

// ReleaseListing counts what the run gives back: every blob listed.
func (f *fakeSource) ReleaseListing(blobs []activity.Blob) { f.released += len(blobs) }

func (f *fakeSource) Download(ctx context.Context, blobs []activity.Blob, fn func(activity.Blob, []activity.Record, error) error) error {
	f.answered = !f.noDate
	for _, b := range blobs {
		var recs []activity.Record
		var err error
		if f.downloads == nil {
			f.downloads = map[string]int{}
		}
		f.downloads[b.ContentID]++
		if e := f.failWith[b.ContentID]; e != nil {
			err = e
		} else if f.fail[b.ContentID] > 0 {
			f.fail[b.ContentID]--
			err = blobError
		} else {
			for _, fb := range f.blobs {
				if fb.id == b.ContentID {
					for _, id := range fb.recs {
						r, derr := activity.DecodeRecord(fakeRecord(id))
						if derr != nil {
							panic(derr)
						}
						recs = append(recs, r)
					}
				}
			}
		}
		if e := fn(b, recs, err); e != nil {
			return e
		}
	}
	return nil
}

// fakeRecord is the record for id; "noid:x" has no Id and "nullid:x" a
// null one (x goes in Operation, so the bytes differ per x).
func fakeRecord(id string) []byte {
	if op, ok := strings.CutPrefix(id, "noid:"); ok {
		return []byte(fmt.Sprintf(`{"CreationTime":"2026-11-28T10:00:00","Workload":"W","Operation":%q,"RecordType":25}`, op))
	}
	if op, ok := strings.CutPrefix(id, "nullid:"); ok {
		return []byte(fmt.Sprintf(`{"Id":null,"CreationTime":"2026-11-28T10:00:00","Workload":"W","Operation":%q,"RecordType":25}`, op))
	}
	return []byte(fmt.Sprintf(`{"Id":%q,"CreationTime":"2026-11-28T10:00:00","Workload":"W","Operation":"Op","RecordType":25}`, id))
}

func (f *fakeSource) add(ct string, created time.Time, late time.Duration, ids ...string) {
	id := fmt.Sprintf("%s$%d", created.Format("20060102150405.000"), len(f.blobs))
	f.blobs = append(f.blobs, &fakeBlob{ct: ct, id: id, created: created.Truncate(time.Millisecond), visibleAt: created.Add(late), recs: ids})
}

// runOnce runs fetch, round-tripping the state through its JSON form.
func runOnce(t *testing.T, src *fakeSource, last json.RawMessage, opt Options) (json.RawMessage, *Outcome) {
	t.Helper()
	st, err := Decode(last)
	if err != nil {
		t.Fatal(err)
	}
	opt.Now = src.now.Add(src.hostAhead)
	opt.Server = src
	// A new run learns the API's clock again; the command asks the API
	// before the run (noProbe: it did not get an answer).
	src.answered = !src.noProbe && !src.noDate
	out := Run(context.Background(), src, st, opt)
	raw, err := out.State.Encode(out.Diagnostics)
	if err != nil {
		t.Fatal(err)
	}
	return raw, out
}

func ids(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Record.ID)
	}
	return out
}

func defaultOpts(cts ...string) Options {
	if len(cts) == 0 {
		cts = []string{"Audit.General"}
	}
	return Options{ContentTypes: cts, Overlap: time.Hour, FirstFetch: time.Hour, MaxFetch: 1000}
}

func TestSeenRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 7, 100, 5000} {
		s := newSeen()
		for i := 0; i < n; i++ {
			b := s.bucket(t0.Add(time.Duration(rnd.IntN(120)) * time.Minute))
			b.records = append(b.records, rnd.Uint64())
			if i%10 == 0 {
				b.blobs = append(b.blobs, rnd.Uint64())
			}
		}
		s.bucket(t0).records = append(s.bucket(t0).records, 0, ^uint64(0))
		enc := s.encode()
		got, err := decodeSeen(enc)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(got.buckets) != len(s.buckets) {
			t.Fatalf("n=%d: %d buckets, want %d", n, len(got.buckets), len(s.buckets))
		}
		for m, b := range s.buckets {
			g := got.buckets[m]
			for _, pair := range [][2][]uint64{{b.blobs, g.blobs}, {b.records, g.records}} {
				want := slices.Compact(slices.Sorted(slices.Values(pair[0])))
				if !slices.Equal(want, pair[1]) {
					t.Fatalf("n=%d minute %d: set differs", n, m)
				}
			}
		}
		// Corrupt inputs fail cleanly.
		for i := 0; i < len(enc); i += 1 + len(enc)/50 {
			bad := slices.Clone(enc)
			bad[i] ^= 0x5a
			_, _ = decodeSeen(bad)
			_, _ = decodeSeen(enc[:i])
		}
	}
}

// TestSeenDensity checks the Rice coding beats 8 bytes per hash.
func TestSeenDensity(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	s := newSeen()
	b := s.bucket(t0)
	for i := 0; i < 5000; i++ {
		b.records = append(b.records, rnd.Uint64())
	}
	if per := float64(len(s.encode())) / 5000; per > 7 {
		t.Errorf("%.2f bytes per hash, want ≤ 7", per)
	}
}

func FuzzDecodeSeen(f *testing.F) {
	s := newSeen()
	s.bucket(t0).records = []uint64{1, 2, 3}
	f.Add(s.encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		if sn, err := decodeSeen(data); err == nil {
			if _, err := decodeSeen(sn.encode()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestDecode(t *testing.T) {
	for _, raw := range []string{``, `null`, `{}`} {
		st, err := Decode(json.RawMessage(raw))
		if st != nil || err != nil {
			t.Errorf("%q: %v %v", raw, st, err)
		}
	}
	st, err := Decode(json.RawMessage(`{"last_fetch": "2026-11-28T09:30:15"}`))
	if err != nil || !st.Migrated || !st.MigratedFrom.Equal(time.Date(2026, 11, 28, 9, 30, 15, 0, time.UTC)) {
		t.Fatalf("migration: %+v %v", st, err)
	}
	for _, raw := range []string{
		`{"version": 2, "streams": {}}`,
		`{"last_fetch": "yesterday"}`,
		`{"something": 1}`,
		`{"version": 1, "streams": {"Audit.General": {"cursor": "x", "from": "2026-11-28T09:30:15Z"}}}`,
		`{"version": 1, "streams": {"Audit.General": {"cursor": "2026-11-28T09:30:15Z", "from": "2026-11-28T10:30:15Z"}}}`,
		`{"version": 1, "streams": {"Audit.General": {"cursor": "2026-11-28T09:30:15Z", "from": "2026-11-28T09:30:15Z", "seen": "AQ=="}}}`,
	} {
		if _, err := Decode(json.RawMessage(raw)); err == nil {
			t.Errorf("%s: no error", raw)
		}
	}
}

func TestFirstRunSteadyStateAndLate(t *testing.T) {
	src := &fakeSource{now: t0}
	src.add("Audit.General", t0.Add(-2*time.Hour), 0, "old")       // before first_fetch
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "a", "b") // in
	src.add("Audit.General", t0.Add(-30*time.Second), 0, "fresh")  // inside the settle margin
	last, out := runOnce(t, src, nil, defaultOpts())
	if got := ids(out.Items); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("first run: %v", got)
	}
	// Next run, 5 minutes later: a late blob (created 40 minutes ago,
	// visible only now) and the fresh one; a and b are re-listed but not
	// delivered again; a record re-delivered in a new blob is deduped.
	src.now = t0.Add(5 * time.Minute)
	src.add("Audit.General", t0.Add(-40*time.Minute), 45*time.Minute, "late", "a")
	last, out = runOnce(t, src, last, defaultOpts())
	if got := ids(out.Items); !slices.Equal(got, []string{"late", "fresh"}) {
		t.Fatalf("second run: %v", got)
	}
	if out.Err != nil || len(out.Warnings) != 0 {
		t.Fatalf("err %v warnings %v", out.Err, out.Warnings)
	}
	src.now = t0.Add(10 * time.Minute)
	_, out = runOnce(t, src, last, defaultOpts())
	if len(out.Items) != 0 {
		t.Fatalf("third run: %v", ids(out.Items))
	}
}

func TestMaxFetchContinuation(t *testing.T) {
	src := &fakeSource{now: t0}
	var want []string
	for i := 0; i < 5; i++ {
		var rs []string
		for j := 0; j < 7; j++ {
			rs = append(rs, fmt.Sprintf("r%d-%d", i, j))
		}
		want = append(want, rs...)
		ct := []string{"Audit.General", "Audit.Exchange"}[i%2]
		src.add(ct, t0.Add(-50*time.Minute+time.Duration(i)*time.Minute), 0, rs...)
	}
	opt := defaultOpts("Audit.Exchange", "Audit.General")
	opt.MaxFetch = 3
	var last json.RawMessage
	var got []string
	for run := 0; run < 20; run++ {
		var out *Outcome
		last, out = runOnce(t, src, last, opt)
		if len(out.Items) > 3 {
			t.Fatalf("run %d: %d items", run, len(out.Items))
		}
		got = append(got, ids(out.Items)...)
		src.now = src.now.Add(time.Minute)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if !strings.Contains(string(last), `"version":1`) {
		t.Fatal(string(last))
	}
}

func TestClampWarnsAboutLostData(t *testing.T) {
	src := &fakeSource{now: t0}
	src.add("Audit.General", t0.Add(-7*24*time.Hour+time.Hour), 0, "kept")
	old := t0.Add(-9 * 24 * time.Hour).Format("2006-01-02T15:04:05")
	last, out := runOnce(t, src, json.RawMessage(`{"last_fetch": "`+old+`"}`), defaultOpts())
	if len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "2d 0h 15m") {
		t.Fatalf("warnings: %v", out.Warnings)
	}
	if got := ids(out.Items); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("items: %v", got)
	}
	if !strings.Contains(string(last), `"migrated_from_last_fetch":true`) {
		t.Fatal(string(last))
	}
}

func TestFailurePinsCursor(t *testing.T) {
	// A listing failure pins its content type's cursor at the window; a
	// blob failing on its own goes to the retry set and the blobs after it
	// are delivered.
	src := &fakeSource{now: t0, fail: map[string]int{}}
	src.add("Audit.General", t0.Add(-50*time.Minute), 0, "a")
	src.add("Audit.General", t0.Add(-40*time.Minute), 0, "b")
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "c")
	src.add("Audit.Exchange", t0.Add(-20*time.Minute), 0, "x")
	src.fail[src.blobs[1].id] = 1
	src.fail["list:Audit.Exchange"] = 1
	opt := defaultOpts("Audit.General", "Audit.Exchange")
	last, out := runOnce(t, src, nil, opt)
	if out.Err == nil {
		t.Fatal("no error")
	}
	if got := ids(out.Items); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("first: %v", got)
	}
	st, _ := Decode(last)
	if g := st.Streams["Audit.General"]; !g.Cursor.Equal(t0.Add(-Settle)) || len(g.Retry) != 1 || g.Retry[0].ContentID != src.blobs[1].id {
		t.Fatalf("Audit.General: cursor %s, retry %+v; want the cursor at the end and b in the retry set", g.Cursor, g.Retry)
	}
	if c := st.Streams["Audit.Exchange"].Cursor; !c.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("Audit.Exchange cursor %s, want the failed window's start", c)
	}
	src.now = src.now.Add(time.Minute)
	last, out = runOnce(t, src, last, opt)
	if got := ids(out.Items); !slices.Equal(got, []string{"b", "x"}) {
		t.Fatalf("second: %v (%v)", got, out.Err)
	}
	if strings.Contains(string(last), `"retry"`) {
		t.Fatalf("b still in the retry set: %s", last)
	}
}

// TestRandomized drives the in-memory source through random schedules (the
// emulator-backed property test lives in commands).
func TestRandomized(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		if !randomSchedule(t, seed) {
			t.Fatalf("seed %d failed", seed)
		}
	}
}

func randomSchedule(t *testing.T, seed uint64) bool {
	rnd := rand.New(rand.NewPCG(seed, 99))
	cts := []string{"Audit.Exchange", "Audit.General"}
	src := &fakeSource{now: t0, fail: map[string]int{}}
	opt := defaultOpts(cts...)
	opt.MaxFetch = 1 + rnd.IntN(20)
	start := t0.Add(-opt.FirstFetch)
	want := map[string]bool{}
	n := 0
	var last json.RawMessage
	got := map[string]int{}
	for step := 0; step < 40; step++ {
		// New blobs: created up to 40 minutes ago (late), some re-delivering
		// a recent record.
		for k := rnd.IntN(4); k > 0; k-- {
			lateness := time.Duration(rnd.IntN(40*60)) * time.Second
			created := src.now.Add(-lateness)
			var rs []string
			for j := 1 + rnd.IntN(5); j > 0; j-- {
				n++
				rs = append(rs, fmt.Sprintf("s%d-%d", seed, n))
			}
			if n > 3 && rnd.IntN(4) == 0 {
				rs = append(rs, fmt.Sprintf("s%d-%d", seed, n-1-rnd.IntN(3)))
			}
			src.add(cts[rnd.IntN(2)], created, lateness, rs...)
			if !created.Before(start) {
				for _, r := range rs {
					want[r] = true
				}
			}
		}
		if rnd.IntN(5) == 0 && len(src.blobs) > 0 {
			src.fail[src.blobs[rnd.IntN(len(src.blobs))].id] = 1
		}
		if rnd.IntN(8) == 0 {
			src.fail["list:"+cts[rnd.IntN(2)]] = 1
		}
		next, out := runOnce(t, src, last, opt)
		killed := rnd.IntN(6) == 0
		if !killed && !(out.Err != nil && len(out.Items) == 0) {
			last = next
			for _, id := range ids(out.Items) {
				got[id]++
			}
		}
		src.now = src.now.Add(time.Duration(1+rnd.IntN(5)) * time.Minute)
	}
	// Drain: no new data, no faults.
	src.fail = map[string]int{}
	src.now = src.now.Add(2 * time.Minute)
	for i := 0; i < 500; i++ {
		next, out := runOnce(t, src, last, opt)
		last = next
		for _, id := range ids(out.Items) {
			got[id]++
		}
		if len(out.Items) == 0 {
			break
		}
	}
	ok := true
	for id := range want {
		if got[id] != 1 {
			t.Errorf("seed %d: record %s delivered %d times", seed, id, got[id])
			ok = false
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("seed %d: record %s delivered but not in scope", seed, id)
			ok = false
		}
	}
	return ok
}

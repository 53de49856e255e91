package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// Defects of issue 12, each reproduced on the in-memory source.

func hasWarning(out *Outcome, sub string) bool {
	for _, w := range out.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// TestHostClockAheadLosesNothing: with the host 2 hours ahead of the API,
// a cursor placed from the host clock passed blobs the API had not made
// available yet, and records published later with an earlier
// contentCreated were never listed. From the API's clock, nothing is lost
// and the skew is reported.
func TestHostClockAheadLosesNothing(t *testing.T) {
	src := &fakeSource{now: t0, hostAhead: 2*time.Hour + 3*time.Minute}
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "a")
	last, out := runOnce(t, src, nil, defaultOpts())
	if got := ids(out.Items); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first run: %v", got)
	}
	if !hasWarning(out, "the engine's clock is 2h03m ahead of Microsoft's; times are taken from the API") {
		t.Fatalf("no skew warning: %v", out.Warnings)
	}
	if st, _ := Decode(last); st.Streams["Audit.General"].Cursor.After(t0.Add(-Settle)) {
		t.Fatalf("cursor %s is past the API's now − settle %s", st.Streams["Audit.General"].Cursor, t0.Add(-Settle))
	}
	var got []string
	for run := 0; run < 6; run++ {
		src.now = src.now.Add(5 * time.Minute)
		// Published now, made available up to 20 minutes ago.
		src.add("Audit.General", src.now.Add(-20*time.Minute), 20*time.Minute, fmt.Sprintf("late-%d", run))
		last, out = runOnce(t, src, last, defaultOpts())
		got = append(got, ids(out.Items)...)
	}
	if want := []string{"late-0", "late-1", "late-2", "late-3", "late-4", "late-5"}; !slices.Equal(got, want) {
		t.Fatalf("later runs delivered %v, want %v", got, want)
	}
}

// TestHostClockBehindSelfHeals: with the host 2 hours behind and
// first_fetch_delta 7 days, the first listing starts more than 7 days back
// by the API's clock (AF20055): the start is recomputed from the API's
// clock and the window listed again in the same run.
func TestHostClockBehindSelfHeals(t *testing.T) {
	src := &fakeSource{now: t0, hostAhead: -2 * time.Hour, noProbe: true}
	src.add("Audit.General", t0.Add(-6*24*time.Hour), 0, "six-days-old")
	src.add("Audit.General", t0.Add(-time.Hour), 0, "recent")
	opt := defaultOpts()
	opt.FirstFetch = 7 * 24 * time.Hour
	last, out := runOnce(t, src, nil, opt)
	if out.Err != nil {
		t.Fatalf("run failed: %v", out.Err)
	}
	if got := ids(out.Items); !slices.Equal(got, []string{"six-days-old", "recent"}) {
		t.Fatalf("delivered %v", got)
	}
	if n := out.Diagnostics.Streams["Audit.General"].Listings; n < 2 {
		t.Fatalf("%d listings: the refused window was not listed again", n)
	}
	if !hasWarning(out, "2h00m behind Microsoft's") {
		t.Fatalf("no skew warning: %v", out.Warnings)
	}
	_, out = runOnce(t, src, last, opt)
	if out.Err != nil || len(out.Items) != 0 {
		t.Fatalf("second run: %v %v", out.Err, ids(out.Items))
	}
}

// TestFutureCursorRelists: a cursor in the future (ours, or the reference's
// last_fetch) used to stop fetching for good, silently. It is detected and
// listing restarts from a safe point with a warning naming the bad value;
// what was delivered is not delivered again.
func TestFutureCursorRelists(t *testing.T) {
	src := &fakeSource{now: t0}
	src.add("Audit.General", t0.Add(-50*time.Minute), 0, "a")
	last, out := runOnce(t, src, nil, defaultOpts())
	if got := ids(out.Items); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first: %v", got)
	}
	// The host jumped forward (or someone edited lastRun).
	var w map[string]any
	_ = json.Unmarshal(last, &w)
	s := w["streams"].(map[string]any)["Audit.General"].(map[string]any)
	s["cursor"], s["from"] = "2027-12-01T00:00:00Z", "2027-11-30T23:00:00Z"
	future, _ := json.Marshal(w)
	src.now = t0.Add(5 * time.Minute)
	src.add("Audit.General", t0.Add(-40*time.Minute), 44*time.Minute, "late")
	src.add("Audit.General", t0.Add(2*time.Minute), 0, "new")
	last, out = runOnce(t, src, future, defaultOpts())
	if !hasWarning(out, "2027-12-01T00:00:00Z is in the future") {
		t.Fatalf("no warning naming the future cursor: %v", out.Warnings)
	}
	if got := ids(out.Items); !slices.Equal(got, []string{"late", "new"}) {
		t.Fatalf("after the future cursor: %v, want late and new only", got)
	}
	if st, _ := Decode(last); st.Streams["Audit.General"].Cursor.After(src.now) {
		t.Fatalf("the future cursor was written back: %s", last)
	}

	// The reference's shape.
	src = &fakeSource{now: t0}
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "b")
	_, out = runOnce(t, src, json.RawMessage(`{"last_fetch":"2099-01-01T00:00:00"}`), defaultOpts())
	if !hasWarning(out, "last_fetch 2099-01-01T00:00:00Z is in the future") {
		t.Fatalf("no warning naming the future last_fetch: %v", out.Warnings)
	}
	if got := ids(out.Items); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after the future last_fetch: %v", got)
	}
}

// TestPoisonBlob: one blob that always fails used to hold back every later
// blob of its content type until it expired. Now the later blobs are
// delivered, the bad one is retried on its back-off, delivered once it
// heals, and, when it never does, given up at expiry with a warning naming
// it.
func TestPoisonBlob(t *testing.T) {
	for _, heals := range []bool{true, false} {
		t.Run(fmt.Sprintf("heals=%v", heals), func(t *testing.T) {
			src := &fakeSource{now: t0, fail: map[string]int{}}
			var want []string
			for i := 0; i < 10; i++ {
				id := fmt.Sprintf("r%d", i)
				src.add("Audit.General", t0.Add(-50*time.Minute+time.Duration(i)*time.Minute), 0, id)
				want = append(want, id)
			}
			poison := src.blobs[3]
			src.fail[poison.id] = 1 << 30
			last, out := runOnce(t, src, nil, defaultOpts())
			got := ids(out.Items)
			if len(got) != 9 || slices.Contains(got, "r3") || out.Err != nil {
				t.Fatalf("first run: %v (%v)", got, out.Err)
			}
			if !hasWarning(out, poison.id) || !strings.Contains(string(last), `"retry":[{"content_id":"`+poison.id+`"`) {
				t.Fatalf("warnings %v\nlastRun %s", out.Warnings, last)
			}
			attempts := 0
			for run := 2; run <= 4; run++ {
				src.now = src.now.Add(5 * time.Minute)
				before := src.downloads[poison.id]
				last, out = runOnce(t, src, last, defaultOpts())
				attempts += src.downloads[poison.id] - before
				got = append(got, ids(out.Items)...)
			}
			if attempts == 0 {
				t.Fatal("the failing blob was not retried")
			}
			if heals {
				delete(src.fail, poison.id)
				src.now = src.now.Add(15 * time.Minute)
				last, out = runOnce(t, src, last, defaultOpts())
				got = append(got, ids(out.Items)...)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("delivered %v, want %v", got, want)
				}
				if strings.Contains(string(last), `"retry"`) {
					t.Fatalf("healed blob still in the retry set: %s", last)
				}
				return
			}
			src.now = poison.created.Add(Retention)
			last, out = runOnce(t, src, last, defaultOpts())
			if !hasWarning(out, "gave up on content blob "+poison.id) || !hasWarning(out, "Purview") {
				t.Fatalf("no expiry warning naming the blob: %v", out.Warnings)
			}
			if strings.Contains(string(last), `"retry"`) {
				t.Fatalf("expired blob still in the retry set: %s", last)
			}
		})
	}
}

// TestUndecodableBlobIsRetried: a blob that does not decode is retried like
// any failing blob, not given up after 3 runs (which lost its records).
func TestUndecodableBlobIsRetried(t *testing.T) {
	src := &undecodableSource{fakeSource: &fakeSource{now: t0}, bad: 4}
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "x")
	src.add("Audit.General", t0.Add(-20*time.Minute), 0, "y")
	var last json.RawMessage
	var got []string
	for run := 0; run < 8; run++ {
		st, err := Decode(last)
		if err != nil {
			t.Fatal(err)
		}
		opt := defaultOpts()
		opt.Now, opt.Server = src.now, src.fakeSource
		out := Run(t.Context(), src, st, opt)
		last, _ = out.State.Encode(out.Diagnostics)
		got = append(got, ids(out.Items)...)
		src.now = src.now.Add(20 * time.Minute)
	}
	if !slices.Equal(got, []string{"y", "x"}) {
		t.Fatalf("delivered %v, want y at once and x once it decodes", got)
	}
}

// TestLastRunHygiene: the smaller defects.
func TestLastRunHygiene(t *testing.T) {
	// A versioned lastRun without streams is not a first run.
	for _, raw := range []string{`{"version":1}`, `{"version":1,"streams":{}}`, `{"version":1,"streams":null}`} {
		if _, err := Decode(json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), "Reset the last run") {
			t.Errorf("%s: %v, want an error saying how to start over", raw, err)
		}
	}
	// Diagnostics are never read back, whatever they hold.
	for _, d := range []string{`"garbage"`, `[1,2]`, `{"streams":7}`, `null`} {
		raw := `{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T11:00:00Z","from":"2026-11-28T10:00:00Z"}},"diagnostics":` + d + `}`
		if _, err := Decode(json.RawMessage(raw)); err != nil {
			t.Errorf("diagnostics %s: %v", d, err)
		}
	}

	t.Run("partial offset beyond the blob", func(t *testing.T) {
		src := &fakeSource{now: t0}
		src.add("Audit.General", t0.Add(-30*time.Minute), 0, "p1", "p2")
		raw := fmt.Sprintf(`{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T11:00:00Z","from":"2026-11-28T11:00:00Z","partials":[{"content_id":%q,"content_created":"2026-11-28T11:30:00Z","offset":5}]}}}`, src.blobs[0].id)
		_, out := runOnce(t, src, json.RawMessage(raw), defaultOpts())
		if got := ids(out.Items); !slices.Equal(got, []string{"p1", "p2"}) {
			t.Fatalf("delivered %v, want the blob from its start", got)
		}
		if !hasWarning(out, "up to record 5, but it holds 2 records") {
			t.Fatalf("no warning: %v", out.Warnings)
		}
	})

	t.Run("blob listed twice", func(t *testing.T) {
		src := &fakeSource{now: t0, listTwice: true}
		src.add("Audit.General", t0.Add(-30*time.Minute), 0, "noid:one", "nullid:two", "id-3")
		_, out := runOnce(t, src, nil, defaultOpts())
		if n := src.downloads[src.blobs[0].id]; n != 1 {
			t.Fatalf("downloaded %d times", n)
		}
		if len(out.Items) != 3 {
			t.Fatalf("%d items, want 3", len(out.Items))
		}
	})

	t.Run("records without Id", func(t *testing.T) {
		src := &fakeSource{now: t0}
		src.add("Audit.General", t0.Add(-30*time.Minute), 0, "noid:one", "nullid:two", "noid:three")
		last, out := runOnce(t, src, nil, defaultOpts())
		if len(out.Items) != 3 {
			t.Fatalf("%d items, want 3 (different bytes)", len(out.Items))
		}
		// The same records delivered again in a later blob.
		src.now = t0.Add(5 * time.Minute)
		src.add("Audit.General", t0.Add(2*time.Minute), 0, "noid:one", "nullid:two", "noid:four")
		_, out = runOnce(t, src, last, defaultOpts())
		if len(out.Items) != 1 || !strings.Contains(string(out.Items[0].Record.Raw), "four") {
			t.Fatalf("re-delivered records without Id became incidents again: %d items", len(out.Items))
		}
	})
}

// undecodableSource answers the first blob with a body that does not
// decode, bad times.
type undecodableSource struct {
	*fakeSource
	bad int
}

func (u *undecodableSource) Download(ctx context.Context, blobs []activity.Blob, fn func(activity.Blob, []activity.Record, error) error) error {
	return u.fakeSource.Download(ctx, blobs, func(b activity.Blob, recs []activity.Record, err error) error {
		if b.ContentID == u.blobs[0].id && u.bad > 0 {
			u.bad--
			return fn(b, nil, &activity.ContentError{ContentID: b.ContentID, Reason: "the body is a JSON object, not an array of records"})
		}
		return fn(b, recs, err)
	})
}

// TestRetriedBlobKeepsDedupe: a record of a failing blob that another blob
// delivered meanwhile is not delivered again when the failing blob heals,
// even hours later, after the dedupe set let that record go (found by the
// property test).
func TestRetriedBlobKeepsDedupe(t *testing.T) {
	src := &fakeSource{now: t0, fail: map[string]int{}}
	src.add("Audit.General", t0.Add(-40*time.Minute), 0, "shared", "own")
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "shared", "other")
	src.fail[src.blobs[0].id] = 1 << 30
	last, out := runOnce(t, src, nil, defaultOpts())
	if got := ids(out.Items); !slices.Equal(got, []string{"shared", "other"}) {
		t.Fatalf("first run: %v", got)
	}
	for h := 1; h <= 4; h++ {
		src.now = t0.Add(time.Duration(h) * time.Hour)
		last, out = runOnce(t, src, last, defaultOpts())
		if len(out.Items) != 0 {
			t.Fatalf("hour %d: %v", h, ids(out.Items))
		}
	}
	if !strings.Contains(string(last), `"held_records"`) {
		t.Fatalf("no held records: %s", last)
	}
	delete(src.fail, src.blobs[0].id)
	src.now = src.now.Add(time.Hour)
	last, out = runOnce(t, src, last, defaultOpts())
	if got := ids(out.Items); !slices.Equal(got, []string{"own"}) {
		t.Fatalf("after healing: %v, want only own", got)
	}
	if strings.Contains(string(last), `"held_records"`) || strings.Contains(string(last), `"retry"`) {
		t.Fatalf("held records kept after the blob was delivered: %s", last)
	}
}

// TestNoDateHeaderWarns: without a Date header the run cannot know the
// API's clock and says so.
func TestNoDateHeaderWarns(t *testing.T) {
	src := &fakeSource{now: t0, noDate: true}
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "a")
	_, out := runOnce(t, src, nil, defaultOpts())
	if !hasWarning(out, "no Date header") || len(out.Items) != 1 {
		t.Fatalf("items %v, warnings %v", ids(out.Items), out.Warnings)
	}
}

// TestRetrySetEnds: a retried blob the API says is gone (AF20051) is given
// up with a warning naming it; when the retry set is full, a new failing
// blob holds its content type's cursor instead (nothing is skipped).
func TestRetrySetEnds(t *testing.T) {
	src := &fakeSource{now: t0, fail: map[string]int{}, failWith: map[string]error{}}
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "gone")
	src.fail[src.blobs[0].id] = 1
	last, _ := runOnce(t, src, nil, defaultOpts())
	src.failWith[src.blobs[0].id] = &activity.APIError{Op: "download blob", Status: 400, Code: activity.CodeContentExpired, Message: "Content older than 7 days cannot be retrieved."}
	src.now = src.now.Add(5 * time.Minute)
	last, out := runOnce(t, src, last, defaultOpts())
	if !hasWarning(out, "gave up on content blob "+src.blobs[0].id) || strings.Contains(string(last), `"retry"`) {
		t.Fatalf("warnings %v\nlastRun %s", out.Warnings, last)
	}

	src = &fakeSource{now: t0, fail: map[string]int{}}
	for i := 0; i <= MaxRetryBlobs; i++ {
		// Two good blobs between failing ones, so no five fail in a row.
		c := t0.Add(-50*time.Minute + time.Duration(i)*10*time.Second)
		src.add("Audit.General", c, 0, fmt.Sprintf("bad-%d", i))
		src.fail[src.blobs[len(src.blobs)-1].id] = 1 << 30
		src.add("Audit.General", c.Add(time.Second), 0, fmt.Sprintf("good-%d", i))
	}
	opt := defaultOpts()
	opt.MaxFetch = 0
	last, out = runOnce(t, src, nil, opt)
	st, _ := Decode(last)
	g := st.Streams["Audit.General"]
	if len(g.Retry) != MaxRetryBlobs {
		t.Fatalf("%d in the retry set, want %d", len(g.Retry), MaxRetryBlobs)
	}
	over := src.blobs[2*MaxRetryBlobs]
	if !g.Cursor.Equal(over.created.Truncate(time.Second)) || out.Err == nil || !strings.Contains(out.Err.Error(), "retry set is full") {
		t.Fatalf("cursor %s (want %s, the blob over the cap), err %v", g.Cursor, over.created, out.Err)
	}
	if slices.Contains(ids(out.Items), fmt.Sprintf("bad-%d", MaxRetryBlobs)) {
		t.Fatal("a failing blob was delivered")
	}
}

// TestFutureTimesInLastRunClamped: a blob of the retry set whose
// next_attempt is far in the future (written while no Date was known and
// the host clock was ahead) was never fetched again until it expired, 7
// days on, with no warning: 3 runs exited 0 with nothing. Every time in
// lastRun is checked against the API's clock at the start of a run, as the
// cursor was: a next_attempt beyond the API's now plus the longest back-off
// is set to now, with a warning naming the value, and the blob is fetched
// in that run.
func TestFutureTimesInLastRunClamped(t *testing.T) {
	src := &fakeSource{now: t0, fail: map[string]int{}}
	src.add("Audit.General", t0.Add(-40*time.Minute), 0, "good")
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "waiting")
	src.fail[src.blobs[1].id] = 1
	last, out := runOnce(t, src, nil, defaultOpts())
	if got := ids(out.Items); !slices.Equal(got, []string{"good"}) {
		t.Fatalf("first run: %v", got)
	}
	var w map[string]any
	if err := json.Unmarshal(last, &w); err != nil {
		t.Fatal(err)
	}
	x := w["streams"].(map[string]any)["Audit.General"].(map[string]any)["retry"].([]any)[0].(map[string]any)
	x["next_attempt"] = "2099-01-01T00:00:00Z"
	x["first_failure"] = "2098-12-31T23:59:00Z"
	last, _ = json.Marshal(w)

	var got []string
	for run := 1; run <= 3; run++ {
		src.now = src.now.Add(5 * time.Minute)
		last, out = runOnce(t, src, last, defaultOpts())
		got = append(got, ids(out.Items)...)
		if run == 1 {
			for _, want := range []string{"next_attempt 2099-01-01T00:00:00Z", "first_failure 2098-12-31T23:59:00Z", src.blobs[1].id} {
				if !hasWarning(out, want) {
					t.Errorf("run 1: no warning naming %q: %v", want, out.Warnings)
				}
			}
		}
	}
	if !slices.Equal(got, []string{"waiting"}) {
		t.Fatalf("3 runs delivered %v, want the retried blob once", got)
	}
	if strings.Contains(string(last), "2099") || strings.Contains(string(last), "2098") || strings.Contains(string(last), `"retry"`) {
		t.Fatalf("lastRun still holds the future times or the blob: %s", last)
	}

	// A next_attempt within the longest back-off is the back-off itself:
	// left alone, without a warning.
	src = &fakeSource{now: t0, fail: map[string]int{}}
	src.add("Audit.General", t0.Add(-30*time.Minute), 0, "later")
	src.fail[src.blobs[0].id] = 1
	last, _ = runOnce(t, src, nil, defaultOpts())
	src.now = src.now.Add(10 * time.Second)
	last, out = runOnce(t, src, last, defaultOpts())
	if len(out.Items) != 0 || len(out.Warnings) != 0 || !strings.Contains(string(last), `"retry"`) {
		t.Fatalf("a due-later blob: items %v, warnings %v", ids(out.Items), out.Warnings)
	}
}

// TestRunHoldsOneWindowOfDescriptors: the blob descriptors listed are
// charged to the run's memory budget until released; a 7-day catch-up
// held every window's descriptors (and the entries and content IDs made
// of them) until the run ended. Each window's are released once it is
// delivered, so a listing begins holding at most those of the same window
// listed for the other content types, and all are released at the end.
func TestRunHoldsOneWindowOfDescriptors(t *testing.T) {
	src := &fakeSource{now: t0}
	for d := 6; d >= 0; d-- {
		for i := 0; i < 3; i++ {
			src.add("Audit.General", t0.Add(-time.Duration(d)*24*time.Hour-time.Duration(i+2)*time.Minute), 0, fmt.Sprintf("g-%d-%d", d, i))
			src.add("Audit.Exchange", t0.Add(-time.Duration(d)*24*time.Hour-time.Duration(i+2)*time.Minute), 0, fmt.Sprintf("x-%d-%d", d, i))
		}
	}
	opt := defaultOpts("Audit.General", "Audit.Exchange")
	opt.FirstFetch, opt.MaxFetch = 7*24*time.Hour, 0
	_, out := runOnce(t, src, nil, opt)
	if len(out.Items) != 42 || out.Err != nil {
		t.Fatalf("%d items, err %v", len(out.Items), out.Err)
	}
	if src.lists < 7 || src.released != src.listed {
		t.Fatalf("%d listings: %d blobs listed, %d released", src.lists, src.listed, src.released)
	}
	if src.maxHeld > 3 {
		t.Fatalf("a listing began while %d blobs were held: the windows before were not released", src.maxHeld)
	}
}

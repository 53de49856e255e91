package activity

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDownloadInFlightBudget: whatever the parallelism, the bytes of blobs
// downloaded but not yet delivered stay within twice the per-blob cap (the
// blob being delivered plus one cap's worth of read-ahead). Before, up to
// 2 × parallelism whole blobs were held at once.
func TestDownloadInFlightBudget(t *testing.T) {
	const blobs, recsPer = 24, 400
	rec := `{"Id":"%d-%d","CreationTime":"2026-11-28T10:00:00","Data":"` + strings.Repeat("x", 1000) + `"}`
	bodies := make([]string, blobs)
	for b := range bodies {
		parts := make([]string, recsPer)
		for i := range parts {
			parts[i] = fmt.Sprintf(rec, b, i)
		}
		bodies[b] = "[" + strings.Join(parts, ",") + "]"
	}
	blobBytes := int64(len(bodies[0]))
	srv := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], "%d", &i)
		w.Write([]byte(bodies[i]))
	})
	for _, par := range []int{8, 32} {
		maxBlob := 2 * blobBytes
		c := hostileClient(t, srv.URL, func(cfg *Config) { cfg.Concurrency = par; cfg.MaxBlobBytes = maxBlob })
		list := make([]Blob, blobs)
		for i := range list {
			list[i] = Blob{ContentID: fmt.Sprint(i), ContentURI: fmt.Sprintf("%s/api/v1.0/contoso/activity/feed/audit/%d", srv.URL, i)}
		}
		var peak int64
		delivered := 0
		err := c.Download(context.Background(), list, func(b Blob, recs []Record, err error) error {
			if err != nil {
				return err
			}
			peak = max(peak, c.budget.inFlight())
			delivered++
			return nil
		})
		if err != nil || delivered != blobs {
			t.Fatalf("P%d: %d delivered, %v", par, delivered, err)
		}
		if limit := 2 * maxBlob; peak > limit {
			t.Errorf("P%d: %d bytes in flight at a delivery, more than twice the per-blob cap (%d)", par, peak, limit)
		}
		if peak < blobBytes {
			t.Errorf("P%d: in-flight bytes %d not counted", par, peak)
		}
		if n := c.budget.inFlight(); n != 0 {
			t.Errorf("P%d: %d bytes still counted after Download", par, n)
		}
	}
}

// waitFor yields until cond holds: no clock is involved; a goroutine that
// never gets there leaves the test to go test's -timeout, whose goroutine
// dump names it.
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}

// TestPassHeadWakesTheNewHead reproduces the deadlock CI hit in
// TestDownloadInFlightBudget (the package timed out after 10 minutes): a
// download waiting for the budget, or for a request slot, is let in when it
// becomes the next blob to deliver — but it only rechecks that when woken.
// Download gave the delivered blob's bytes back (waking it too early, while
// it was not head yet) and then moved the head without waking anyone, and
// woke no one at all when the delivered blob held nothing. Each case is made
// deterministic by waiting until the download is blocked before the head
// moves.
func TestPassHeadWakesTheNewHead(t *testing.T) {
	for _, held := range []int64{0, 5} {
		t.Run(fmt.Sprintf("budget, delivered blob held %d bytes", held), func(t *testing.T) {
			c, err := New(Config{BaseURL: "https://x/", Tokens: StaticToken("t"), MaxBlobBytes: 100})
			if err != nil {
				t.Fatal(err)
			}
			var next atomic.Int64
			// Blob 0 (head) holds held bytes, a later blob the rest of
			// the budget; blob 1 then has to wait.
			if err := c.budget.take(context.Background(), held, func() bool { return true }); err != nil {
				t.Fatal(err)
			}
			if err := c.budget.take(context.Background(), c.budget.limit-held, func() bool { return true }); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- c.budget.take(context.Background(), 10, func() bool { return next.Load() == 1 })
			}()
			waitFor(func() bool { // blob 1 waits for the budget
				c.budget.mu.Lock()
				defer c.budget.mu.Unlock()
				return c.budget.waiting == 1
			})
			c.passHead(func() { next.Store(1) }, held)
			// A deadlock here is what this test is for: go test's -timeout
			// reports it with this goroutine waiting.
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("gate", func(t *testing.T) {
		c, err := New(Config{BaseURL: "https://x/", Tokens: StaticToken("t"), Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		var next atomic.Int64
		if err := c.gate.acquire(context.Background(), nil); err != nil { // a later blob's request
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.gate.acquire(context.Background(), func() bool { return next.Load() == 1 }) }()
		waitFor(func() bool { // blob 1 waits for a request slot
			c.gate.mu.Lock()
			defer c.gate.mu.Unlock()
			return c.gate.waiting == 1
		})
		c.passHead(func() { next.Store(1) }, 0)
		// A deadlock here is what this test is for: go test's -timeout
		// reports it with this goroutine waiting.
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestListingChargedUntilReleased: the descriptors ListContent returns are
// charged to the run's in-flight budget until ReleaseListing, over every
// page and window of the call; a call whose descriptors exceed the budget
// fails with an error naming max_blob_mb, and nothing stays charged.
func TestListingChargedUntilReleased(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBlobBytes = 64 << 10 })
	f.srv.Subscribe(tenant, "Audit.General")
	f.srv.SetPageSize(50)
	for b := range 300 {
		f.srv.AddBlob(tenant, "Audit.General", testNow.Add(-47*time.Hour+time.Duration(b)*9*time.Minute), rec(fmt.Sprint(b), 1, "Exchange", "Send"))
	}
	blobs, err := f.client.ListContent(context.Background(), "Audit.General", testNow.Add(-3*time.Hour), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if held := f.client.budget.inFlight(); len(blobs) == 0 || held != listingCost(blobs) || held < int64(len(blobs))*200 {
		t.Fatalf("%d blobs listed, %d bytes charged", len(blobs), held)
	}
	f.client.ReleaseListing(blobs)
	if held := f.client.budget.inFlight(); held != 0 {
		t.Fatalf("%d bytes charged after ReleaseListing", held)
	}

	// Two days, 300 descriptors: more than 64 KiB of them.
	blobs, err = f.client.ListContent(context.Background(), "Audit.General", testNow.Add(-48*time.Hour), testNow)
	if err == nil || blobs != nil || !strings.Contains(err.Error(), "max_blob_mb") || !strings.Contains(err.Error(), "64 KiB") && !strings.Contains(err.Error(), "65536 bytes") {
		t.Fatalf("%d blobs, err %v", len(blobs), err)
	}
	if held := f.client.budget.inFlight(); held != 0 {
		t.Fatalf("%d bytes charged after the failed listing", held)
	}
}

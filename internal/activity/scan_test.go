package activity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// scanFixture has blobs over three days in two content types.
func scanFixture(t *testing.T, conc int) (*fixture, []Listing, []string) {
	t.Helper()
	f := newFixture(t, func(c *Config) { c.Concurrency = conc })
	var want []string
	for _, ct := range []string{"Audit.General", "Audit.Exchange"} {
		f.srv.Subscribe(tenant, ct)
		for b := range 24 {
			var recs []json.RawMessage
			for r := range 5 {
				id := fmt.Sprintf("%s-%02d-%d", ct, b, r)
				want = append(want, id)
				recs = append(recs, rec(id, 1, "Exchange", "Send"))
			}
			f.srv.AddBlob(tenant, ct, testNow.Add(-71*time.Hour+time.Duration(b)*3*time.Hour), recs...)
		}
	}
	var listings []Listing
	for _, ct := range []string{"Audit.General", "Audit.Exchange"} {
		for _, w := range SplitWindow(testNow.Add(-72*time.Hour), testNow) {
			listings = append(listings, Listing{ct, w[0], w[1]})
		}
	}
	slices.Sort(want)
	return f, listings, want
}

func TestScanDeliversEveryBlobOnce(t *testing.T) {
	for _, conc := range []int{1, 3, 16} {
		t.Run(fmt.Sprint("parallelism-", conc), func(t *testing.T) {
			f, listings, want := scanFixture(t, conc)
			f.srv.SetPageSize(5)
			// Slow blobs make completion order differ from listing order.
			for i := range 12 {
				f.srv.FailNext("blob", 1, emulator.Slow(time.Duration(i%4)*time.Millisecond))
			}
			var got []string
			listed, blobsListed := 0, 0
			err := f.client.Scan(context.Background(), listings, func(it ScanItem) error {
				if it.Err != nil {
					return it.Err
				}
				if it.Blob == nil {
					listed++
					blobsListed += it.Blobs
					return nil
				}
				if it.Blob.ContentType != it.Listing.ContentType {
					t.Errorf("blob %s of %s reported under listing %s", it.Blob.ContentID, it.Blob.ContentType, it.Listing.ContentType)
				}
				for _, r := range it.Records {
					got = append(got, r.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d records, want %d (each once)", len(got), len(want))
			}
			if listed != len(listings) || blobsListed != 48 {
				t.Errorf("listings reported %d (want %d), blobs listed %d (want 48)", listed, len(listings), blobsListed)
			}
			if n := f.srv.Count("blob"); n != 48 {
				t.Errorf("%d blob requests, want 48", n)
			}
		})
	}
}

// The read-ahead bound holds across listings: a callback that stops after
// a few blobs leaves at most 2×P more downloaded (plus the P in flight).
func TestScanStopsAndBoundsReadAhead(t *testing.T) {
	f, listings, _ := scanFixture(t, 4)
	stop := errors.New("stop")
	blobs := 0
	var mu sync.Mutex
	err := f.client.Scan(context.Background(), listings, func(it ScanItem) error {
		mu.Lock()
		defer mu.Unlock()
		if it.Blob == nil {
			return nil
		}
		blobs++
		if blobs == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's", err)
	}
	if n := f.srv.Count("blob"); n > 3+2*4+4 {
		t.Errorf("%d blobs fetched for 3 consumed", n)
	}
}

// A failed listing is reported to the callback and the other listings go
// on; a blob that cannot be fetched is reported with its error.
func TestScanReportsFailures(t *testing.T) {
	f, listings, _ := scanFixture(t, 2)
	listings = append(listings, Listing{"DLP.All", testNow.Add(-time.Hour), testNow}) // not subscribed
	f.srv.FailNext("blob", 1, emulator.NotArray)
	var listErrs, blobErrs, blobs int
	err := f.client.Scan(context.Background(), listings, func(it ScanItem) error {
		switch {
		case it.Blob == nil && it.Err != nil:
			listErrs++
			if ErrorCode(it.Err) != "AF20022" || it.Listing.ContentType != "DLP.All" {
				t.Errorf("listing error %v for %s", it.Err, it.Listing.ContentType)
			}
		case it.Blob != nil && it.Err != nil:
			blobErrs++
			if !IsSkippable(it.Err) {
				t.Errorf("blob error %v is not skippable", it.Err)
			}
		case it.Blob != nil:
			blobs++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if listErrs != 1 || blobErrs != 1 || blobs != 47 {
		t.Errorf("listing errors %d, blob errors %d, blobs %d; want 1, 1, 47", listErrs, blobErrs, blobs)
	}
}

func TestScanCancelled(t *testing.T) {
	f, listings, _ := scanFixture(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	err := f.client.Scan(ctx, listings, func(it ScanItem) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// What a scan holds of downloaded blobs is bounded by the client's
// in-flight budget at any parallelism, and all of it is given back, when
// the scan completes and when its callback stops it.
func TestScanInFlightBudget(t *testing.T) {
	for _, par := range []int{8, 32} {
		f := newFixture(t, func(c *Config) { c.Concurrency = par })
		f.srv.Subscribe(tenant, "Audit.General")
		pad := strings.Repeat("x", 1000)
		var blobBytes int64
		for b := range 24 {
			var recs []json.RawMessage
			for r := range 200 {
				recs = append(recs, json.RawMessage(fmt.Sprintf(`{"Id":"%d-%d","CreationTime":"2026-11-28T10:00:00","Data":%q}`, b, r, pad)))
			}
			blobBytes = int64(len(recs) * (len(recs[0]) + 1))
			f.srv.AddBlob(tenant, "Audit.General", testNow.Add(-20*time.Hour+time.Duration(b)*time.Minute), recs...)
		}
		// A per-blob cap of twice a blob: the budget is then 2 blobs' worth,
		// far less than the 2 × P blobs the read-ahead alone would allow.
		maxBlob := 2 * blobBytes
		c, err := New(Config{BaseURL: f.srv.BaseURL(), HTTP: f.srv.Client(), Tokens: f.tokens, Clock: f.fake, Concurrency: par, MaxBlobBytes: maxBlob,
			Jitter: func(time.Duration) time.Duration { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		listings := []Listing{{"Audit.General", testNow.Add(-23 * time.Hour), testNow}}
		for _, stopAt := range []int{0, 5} {
			var peak int64
			blobs := 0
			err := c.Scan(context.Background(), listings, func(it ScanItem) error {
				if it.Err != nil {
					return it.Err
				}
				if it.Blob == nil {
					return nil
				}
				peak = max(peak, c.budget.inFlight())
				if blobs++; blobs == stopAt {
					return errors.New("stop")
				}
				return nil
			})
			if stopAt == 0 && (err != nil || blobs != 24) {
				t.Fatalf("P%d: %d blobs, %v", par, blobs, err)
			}
			if limit := 2 * maxBlob; peak > limit {
				t.Errorf("P%d: %d bytes in flight at a delivery, more than twice the per-blob cap (%d)", par, peak, limit)
			}
			if peak < blobBytes {
				t.Errorf("P%d: in-flight bytes %d not counted", par, peak)
			}
			if n := c.budget.inFlight(); n != 0 {
				t.Errorf("P%d stop at %d: %d bytes still counted after Scan", par, stopAt, n)
			}
		}
	}
}

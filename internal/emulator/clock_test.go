package emulator

import (
	"net/http"
	"testing"
	"time"
)

// TestDateHeaderFollowsClockOffset: every answer carries the emulator's
// clock in Date, errors included, and a clock offset moves both Date and
// what the listings consider "now".
func TestDateHeaderFollowsClockOffset(t *testing.T) {
	f := newFeedFixture(t)
	f.s.Subscribe(feedTenantA, "Audit.General")
	f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(30*time.Minute), feedRecord("r1", ""))
	list := "subscriptions/content?contentType=Audit.General&startTime=2026-11-28T11:00:00&endTime=2026-11-28T13:00:00"

	r := f.get(list)
	if got := r.header.Get("Date"); got != feedT0.Format(http.TimeFormat) {
		t.Fatalf("Date = %q, want the emulator clock %q", got, feedT0.Format(http.TimeFormat))
	}
	if n := len(decodeFeedItems(t, r)); n != 0 {
		t.Fatalf("a blob created in the emulator's future is listed: %d items", n)
	}

	f.s.SetClockOffset(2 * time.Hour)
	r = f.get(list)
	if got, want := r.header.Get("Date"), feedT0.Add(2*time.Hour).Format(http.TimeFormat); got != want {
		t.Fatalf("Date with offset = %q, want %q", got, want)
	}
	if n := len(decodeFeedItems(t, r)); n != 1 {
		t.Fatalf("2 hours ahead, the blob is not listed: %d items", n)
	}
	bad := f.get("subscriptions/content?contentType=Audit.General&startTime=2026-11-21T13:00:00&endTime=2026-11-21T14:00:00")
	expectFeedAF(t, bad, http.StatusBadRequest, "AF20055")
	if bad.header.Get("Date") == "" {
		t.Fatal("an error answer has no Date header")
	}
	f.s.SetClockOffset(-3 * time.Hour)
	if got, want := f.get("subscriptions/list").header.Get("Date"), feedT0.Add(-3*time.Hour).Format(http.TimeFormat); got != want {
		t.Fatalf("Date behind = %q, want %q", got, want)
	}
}

// TestBreakBlob: a broken blob answers its status until healed, whatever
// ClearFaults does.
func TestBreakBlob(t *testing.T) {
	f := newFeedFixture(t)
	f.s.Subscribe(feedTenantA, "Audit.General")
	id := f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(-time.Minute), feedRecord("r1", ""))
	f.s.BreakBlob(id, http.StatusForbidden)
	f.s.ClearFaults()
	expectFeedAF(t, f.get("audit/"+id), http.StatusForbidden, "AF10001")
	f.s.BreakBlob(id, http.StatusInternalServerError)
	expectFeedAF(t, f.get("audit/"+id), http.StatusInternalServerError, "AF50000")
	f.s.HealBlob(id)
	expectFeedOK(t, f.get("audit/"+id))
}

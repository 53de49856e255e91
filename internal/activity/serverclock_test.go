package activity

import (
	"context"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// TestServerClockFromDate: the client learns the API's clock from the Date
// header of every answer, failed ones too, and follows a host clock that
// is stepped between answers.
func TestServerClockFromDate(t *testing.T) {
	f := newFixture(t, nil)
	sc := f.client.ServerClock()
	if _, ok := sc.Offset(); ok {
		t.Fatal("offset known before any answer")
	}
	if got := sc.Now(); !got.Equal(testNow) {
		t.Fatalf("before any answer Now = %s, want the host's %s", got, testNow)
	}
	// The API is 2h03m behind the host.
	f.srv.SetClockOffset(-(2*time.Hour + 3*time.Minute))
	if _, err := f.client.ListSubscriptions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d, ok := sc.Offset(); !ok || d != 2*time.Hour+3*time.Minute {
		t.Fatalf("offset %s %v, want 2h3m", d, ok)
	}
	f.fake.Advance(10 * time.Second)
	if got, want := sc.Now(), testNow.Add(-2*time.Hour-3*time.Minute+10*time.Second); !got.Equal(want) {
		t.Fatalf("Now = %s, want %s", got, want)
	}
	if v, _ := sc.Vouched(); !v.Equal(testNow.Add(-2*time.Hour - 3*time.Minute)) {
		t.Fatalf("vouched %s", v)
	}
	// An error answer carries the clock too; the host was stepped back 3h.
	f.fake.Advance(-3 * time.Hour)
	f.srv.SetClockOffset(3*time.Hour - 2*time.Hour)
	f.srv.FailNext("subscriptions/list", 10, emulator.Status(503))
	if _, err := f.client.ListSubscriptions(context.Background()); err == nil {
		t.Fatal("no error")
	}
	// Retries slept through the fake clock, so the host is mid-second:
	// Date's whole seconds make the offset up to a second larger, never
	// smaller (the server time derived is never ahead of the server's).
	d, _ := sc.Offset()
	if d < -time.Hour || d >= -time.Hour+time.Second {
		t.Fatalf("after the host stepped back: offset %s, want -1h (up to a second more)", d)
	}
}

// TestRetryAfterDateOnServerClock: a Retry-After given as an HTTP date is
// read against the API's clock: with the host 2 hours ahead it used to be
// in the past (no wait at all, hammering a throttled API), 2 hours behind
// it was capped at a minute.
func TestRetryAfterDateOnServerClock(t *testing.T) {
	for _, apiAhead := range []time.Duration{-2 * time.Hour, 2 * time.Hour} {
		f := newFixture(t, nil)
		f.srv.SetClockOffset(apiAhead)
		f.srv.FailNext("subscriptions/list", 1, emulator.ThrottleUntil(3*time.Second))
		before := f.fake.Slept()
		if _, err := f.client.ListSubscriptions(context.Background()); err != nil {
			t.Fatal(err)
		}
		if slept := f.fake.Slept() - before; slept < 2*time.Second || slept > 4*time.Second {
			t.Errorf("API %s ahead: slept %s, want the 3 s the API asked for", apiAhead, slept)
		}
	}
}

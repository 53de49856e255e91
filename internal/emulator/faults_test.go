package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFailNextFaults(t *testing.T) {
	cases := []struct {
		fault  Fault
		check  func(t *testing.T, r feedReply)
		onBlob bool
	}{
		{Throttle(1500 * time.Millisecond), func(t *testing.T, r feedReply) {
			expectFeedAF(t, r, 429, "AF429")
			if r.header.Get("Retry-After") != "2" {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
			if !strings.Contains(string(r.body), "PublisherId="+feedPublisher) {
				t.Fatalf("AF429 message: %s", r.body)
			}
		}, false},
		{Throttle(0), func(t *testing.T, r feedReply) {
			expectFeedAF(t, r, 429, "AF429")
			if _, ok := r.header["Retry-After"]; ok {
				t.Fatal("unexpected Retry-After")
			}
		}, false},
		{ThrottleAF429, func(t *testing.T, r feedReply) { expectFeedAF(t, r, 403, "AF429") }, true},
		{InternalError, func(t *testing.T, r feedReply) { expectFeedAF(t, r, 500, "AF50000") }, false},
		{Status(502), func(t *testing.T, r feedReply) { wantFeedNonJSON(t, r, 502) }, false},
		{Status(503), func(t *testing.T, r feedReply) { wantFeedNonJSON(t, r, 503) }, false},
		{Status(504), func(t *testing.T, r feedReply) { wantFeedNonJSON(t, r, 504) }, true},
		{NonJSONError, func(t *testing.T, r feedReply) { wantFeedNonJSON(t, r, 400) }, false},
		{ExpiredToken, func(t *testing.T, r feedReply) {
			if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Fatalf("%d %v", r.status, r.header)
			}
		}, true},
		{TruncatedJSON, func(t *testing.T, r feedReply) {
			if r.status != 200 || json.Valid(r.body) || len(r.body) == 0 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}, true},
		{NotArray, func(t *testing.T, r feedReply) {
			var v any
			if r.status != 200 || json.Unmarshal(r.body, &v) != nil {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if _, ok := v.(map[string]any); !ok {
				t.Fatalf("not an object: %s", r.body)
			}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.fault.String(), func(t *testing.T) {
			f := newFeedFixture(t)
			f.s.Subscribe(feedTenantA, "Audit.General")
			id := f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(-time.Hour), feedRecord("a", ""), feedRecord("b", ""))
			ep, rel := "subscriptions/content", "subscriptions/content?contentType=Audit.General"
			if c.onBlob {
				ep, rel = "blob", "audit/"+id
			}
			f.s.FailNext(ep, 2, c.fault)
			f.s.FailNext("subscriptions/list", 1, InternalError) // other endpoints unaffected
			c.check(t, f.get(rel))
			c.check(t, f.get(rel))
			expectFeedOK(t, f.get(rel))
			if got := f.s.faultsInjected(); got != 2 {
				t.Fatalf("injected %d", got)
			}
		})
	}
}

func wantFeedNonJSON(t *testing.T, r feedReply, status int) {
	t.Helper()
	if r.status != status || json.Valid(r.body) || len(r.body) == 0 {
		t.Fatalf("got %d %q, want %d with a non-JSON body", r.status, r.body, status)
	}
}

func TestFailNextAnyEndpointAndOrder(t *testing.T) {
	f := newFeedFixture(t)
	f.s.FailNext("*", 1, Status(503))
	f.s.FailNext("subscriptions/list", 1, InternalError)
	// The endpoint's own queue goes first, then "*".
	expectFeedAF(t, f.get("subscriptions/list"), 500, "AF50000")
	if r := f.post("subscriptions/start?contentType=DLP.All"); r.status != 503 {
		t.Fatalf("got %d", r.status)
	}
	expectFeedOK(t, f.post("subscriptions/start?contentType=DLP.All"))
	// Faults never hit unauthenticated requests.
	f.s.FailNext("*", 1, InternalError)
	if r := f.doToken("GET", f.feedURL(feedTenantA, "subscriptions/list"), ""); r.status != 401 {
		t.Fatalf("got %d", r.status)
	}
	expectFeedAF(t, f.get("subscriptions/list"), 500, "AF50000")
	f.s.FailNext("*", 5, InternalError)
	f.s.ClearFaults()
	expectFeedOK(t, f.get("subscriptions/list"))
}

func TestResetMidBody(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		name := "http"
		if tlsOn {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			var s *Server
			if tlsOn {
				s = NewTLSServer()
			} else {
				s = NewServer()
			}
			defer s.Close()
			tok, _ := s.IssueToken(feedTenantA, time.Hour)
			id := s.AddBlob(feedTenantA, "Audit.General", s.Now().Add(-time.Hour), feedRecord("a", strings.Repeat(" ", 4096)))
			s.FailNext("blob", 1, ResetMidBody)
			url := s.BaseURL() + feedTenantA + "/activity/feed/audit/" + id + "?PublisherIdentifier=" + feedPublisher
			get := func() ([]byte, error) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := s.Client().Do(req)
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				return io.ReadAll(resp.Body)
			}
			body, err := get()
			if err == nil {
				t.Fatalf("read %d bytes without error", len(body))
			}
			if body, err = get(); err != nil || !json.Valid(body) {
				t.Fatalf("second GET: %v", err)
			}
		})
	}
}

func TestSlowFaultIsCancellable(t *testing.T) {
	f := newFeedFixture(t)
	f.s.FailNext("subscriptions/list", 1, Slow(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.feedURL(feedTenantA, "subscriptions/list"), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	start := time.Now()
	_, err := f.c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	expectFeedOK(t, f.get("subscriptions/list"))
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("took %v: the slow handler was not cancelled", el)
	}
	// A short Slow answers normally afterwards.
	f.s.FailNext("subscriptions/list", 1, Slow(50*time.Millisecond))
	start = time.Now()
	expectFeedOK(t, f.get("subscriptions/list"))
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("not slow")
	}
}

func TestLatency(t *testing.T) {
	f := newFeedFixture(t)
	f.s.SetLatency(60 * time.Millisecond)
	start := time.Now()
	expectFeedOK(t, f.get("subscriptions/list"))
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Fatalf("took %v", el)
	}
	if f.clk.Now() != feedT0 {
		t.Fatal("latency must not move the emulator clock")
	}
	f.s.SetLatency(0)
}

func TestRandomFaultsAreSeeded(t *testing.T) {
	run := func(seed int64) []int {
		f := newFeedFixture(t)
		f.s.SetRandomFaults(seed, 0.3, InternalError, Status(503), ThrottleAF429)
		var codes []int
		for range 200 {
			codes = append(codes, f.get("subscriptions/list").status)
		}
		return codes
	}
	a, b, c := run(7), run(7), run(8)
	failures := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different faults")
		}
		if a[i] != 200 {
			failures++
		}
	}
	if failures < 30 || failures > 90 {
		t.Fatalf("%d/200 failures at rate 0.3", failures)
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave identical faults")
	}
}

package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/auth"
	"github.com/secops-go/ms-management-activity/internal/activity"
)

// checkCacheLifecycle runs the behaviour every flow shares: first run asks
// once; a second process run reuses the stored token with zero requests and
// leaves the context unchanged; expiry (fake clock) refreshes once;
// Invalidate (a 401) refreshes exactly once.
func checkCacheLifecycle(t *testing.T, h *harness, p map[string]any, counter string) {
	t.Helper()
	ts := h.mustSource(p)
	tok1 := h.token(ts)
	if tid, ok := activity.TenantFromToken(tok1); !ok || tid != "tenant-1" {
		t.Fatalf("tid = %q, %v", tid, ok)
	}
	if got := h.srv.Count(counter); got != 1 {
		t.Fatalf("first run: %s requests = %d, want 1", counter, got)
	}
	if again := h.token(ts); again != tok1 {
		t.Fatal("same process: token changed")
	}
	if !h.end() {
		t.Fatal("first run did not store the token")
	}

	// Second process run: zero requests of any kind to the identity side.
	before := h.counts()
	ts = h.mustSource(p)
	if tok := h.token(ts); tok != tok1 {
		t.Fatal("second run: cached token not reused")
	}
	if after := h.counts(); after != nil && !equalCounts(before, after) {
		t.Fatalf("second run made identity requests: before %v after %v", before, after)
	}
	if h.end() {
		t.Fatal("second run changed integrationContext though it only read the cache")
	}

	// Within the safety margin of the expiry: refreshed once.
	h.clk.Advance(time.Hour - auth.Margin + time.Second)
	ts = h.mustSource(p)
	tok2 := h.token(ts)
	if tok2 == tok1 {
		t.Fatal("expired token reused")
	}
	if got := h.srv.Count(counter); got != 2 {
		t.Fatalf("after expiry: %s requests = %d, want 2", counter, got)
	}
	h.end()

	// A 401 mid-run: Invalidate, one refresh, the new token works.
	if st := h.apiStatus(tok2); st != http.StatusOK {
		t.Fatalf("API answered %d to a fresh token", st)
	}
	h.srv.RevokeTokens()
	ts = h.mustSource(p)
	if h.token(ts) != tok2 {
		t.Fatal("fresh token not reused")
	}
	if st := h.apiStatus(tok2); st != http.StatusUnauthorized {
		t.Fatalf("API answered %d to a revoked token", st)
	}
	ts.Invalidate()
	tok3 := h.token(ts)
	if tok3 == tok2 {
		t.Fatal("Invalidate did not refresh")
	}
	if st := h.apiStatus(tok3); st != http.StatusOK {
		t.Fatalf("API answered %d to the refreshed token", st)
	}
	if h.token(ts) != tok3 {
		t.Fatal("second Token after refresh asked again")
	}
	if got := h.srv.Count(counter); got != 3 {
		t.Fatalf("after Invalidate: %s requests = %d, want 3", counter, got)
	}
	h.end()
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func TestClientCredentialsSecret(t *testing.T) {
	h := newHarness(t)
	p := h.srv.ClientCredentialsParams("tenant-1")
	checkCacheLifecycle(t, h, p, "token")
}

func TestOproxy(t *testing.T) {
	h := newHarness(t)
	p := h.srv.OproxyParams("tenant-1")
	checkCacheLifecycle(t, h, p, "oproxy")
	_ = context.Background()
}

// apiStatus calls the emulator's Management Activity API with tok.
func (h *harness) apiStatus(tok string) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.BaseURL()+"tenant-1/activity/feed/subscriptions/list?PublisherIdentifier=x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

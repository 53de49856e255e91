package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A poisoned integrationContext used to fail every run without a token
// request and without a hint: a cached access token that is not a JWT with
// a tid claim (the API calls then have no tenant), or an oproxy back-off
// time far in the future. Both are discarded with a warning and the flow
// starts fresh.
func TestPoisonedContextIsDiscarded(t *testing.T) {
	t.Run("token without tid", func(t *testing.T) {
		for _, legacy := range []bool{false, true} {
			h := newHarness(t)
			p := h.srv.OproxyParams("tenant-1")
			h.token(h.mustSource(p))
			h.end()
			exp := float64(h.clk.Now().Add(50 * time.Minute).Unix())
			if legacy {
				// The reference's own keys.
				h.ctx = map[string]any{"access_token": "opaque-not-a-jwt", "valid_until": exp}
			} else {
				rec := h.ctx["auth"].(map[string]any)
				rec["access_token"], rec["expires_on"] = "opaque-not-a-jwt", exp
			}
			before := h.srv.Count("oproxy")
			tok := h.token(h.mustSource(p))
			if tok == "opaque-not-a-jwt" || h.srv.Count("oproxy") != before+1 {
				t.Fatalf("legacy=%v: the poisoned token was used (%d broker requests)", legacy, h.srv.Count("oproxy")-before)
			}
			if h.apiStatus(tok) != 200 {
				t.Fatal("the fresh token does not work")
			}
			if !strings.Contains(h.logs.String(), "no tenant (tid) claim") {
				t.Fatalf("no warning: %s", h.logs.String())
			}
		}
	})
	t.Run("oproxy back-off beyond a day", func(t *testing.T) {
		h := newHarness(t)
		p := h.srv.OproxyParams("tenant-1")
		h.token(h.mustSource(p))
		h.end()
		rec := h.ctx["auth"].(map[string]any)
		rec["access_token"], rec["expires_on"] = "", float64(0)
		rec["next_request_time"] = float64(h.clk.Now().Add(48 * time.Hour).Unix())
		rec["failures"] = float64(3)
		if _, err := h.mustSource(p).Token(context.Background()); err != nil {
			t.Fatalf("the poisoned back-off still blocks: %v", err)
		}
		if !strings.Contains(h.logs.String(), "back-off is further away than the longest back-off") {
			t.Fatalf("no warning: %s", h.logs.String())
		}
	})
	t.Run("a real back-off still waits and says what to do", func(t *testing.T) {
		h := newHarness(t)
		p := h.srv.OproxyParams("tenant-1")
		h.token(h.mustSource(p))
		h.end()
		rec := h.ctx["auth"].(map[string]any)
		rec["access_token"], rec["expires_on"] = "", float64(0)
		rec["next_request_time"] = float64(h.clk.Now().Add(30 * time.Second).Unix())
		_, err := h.mustSource(p).Token(context.Background())
		if err == nil || !strings.Contains(err.Error(), "ms-management-activity-auth-reset") {
			t.Fatalf("%v: want the back-off error naming ms-management-activity-auth-reset", err)
		}
	})
}

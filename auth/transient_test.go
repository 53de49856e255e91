package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// healingClock heals the token endpoint during the first back-off sleep, as
// a transient AADSTS90033 / 503 would heal on its own.
type healingClock struct {
	*clock.Fake
	heal func()
}

func (c healingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.heal()
	return c.Fake.Sleep(ctx, d)
}

func TestTransientTokenFailureIsRetried(t *testing.T) {
	for _, fault := range []emulator.TokenFault{emulator.TokenServerError, emulator.TokenDown} {
		h := newHarness(t)
		raw := h.srv.ClientCredentialsParams("contoso")
		h.srv.FailTokens(fault)
		hc := healingClock{Fake: h.clk, heal: func() { h.srv.FailTokens(emulator.TokenOK) }}
		ts := h.mustSourceWithClock(raw, hc)
		if tok := h.token(ts); tok == "" {
			t.Fatalf("fault %v: empty token", fault)
		}
		if h.clk.Slept() == 0 {
			t.Errorf("fault %v: no back-off before the retry", fault)
		}
	}
}

func TestPermanentTokenFailureIsNotRetried(t *testing.T) {
	h := newHarness(t)
	raw := h.srv.ClientCredentialsParams("contoso")
	h.srv.FailTokens(emulator.TokenInvalidClient)
	ts := h.mustSource(raw)
	if _, err := ts.Token(context.Background()); err == nil {
		t.Fatal("want an error for invalid_client")
	}
	if h.clk.Slept() != 0 {
		t.Errorf("slept %v: an invalid client must not be retried", h.clk.Slept())
	}
}

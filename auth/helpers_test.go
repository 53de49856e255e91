package auth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/auth"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/state"
	"github.com/secops-go/ms-management-activity/internal/testutil"
	"github.com/secops-go/ms-management-activity/params"
)

// harness is one emulator and the persisted integrationContext between
// simulated process runs.
type harness struct {
	t     *testing.T
	srv   *emulator.Server
	clk   *clock.Fake
	ctx   map[string]any // what the engine stored after the last run
	logs  *testutil.SyncBuffer
	store *state.Store // the last run's store
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	srv := emulator.NewTLSServer(emulator.WithClock(clk))
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, clk: clk, ctx: map[string]any{}, logs: &testutil.SyncBuffer{}}
}

// source starts a "process": decodes params, wraps the persisted context and
// builds the token source, as the dispatcher does.
func (h *harness) source(raw map[string]any) (auth.TokenSource, error) {
	h.t.Helper()
	return h.sourceWithClock(raw, h.clk)
}

// sourceWithClock is source with another clock (e.g. one that acts while
// the source backs off).
func (h *harness) sourceWithClock(raw map[string]any, c clock.Clock) (auth.TokenSource, error) {
	h.t.Helper()
	p, err := params.Decode(raw)
	if err != nil {
		h.t.Fatalf("params: %v", err)
	}
	h.store = state.New(h.ctx)
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return auth.New(context.Background(), auth.Config{Params: p, Store: h.store, HTTP: h.srv.Client(), Clock: c, Logger: logger})
}

// mustSource is source that fails the test on error.
func (h *harness) mustSource(raw map[string]any) auth.TokenSource {
	h.t.Helper()
	ts, err := h.source(raw)
	if err != nil {
		h.t.Fatalf("auth.New: %v", err)
	}
	return ts
}

// token gets a token and fails the test on error.
func (h *harness) token(ts auth.TokenSource) string {
	h.t.Helper()
	tok, err := ts.Token(context.Background())
	if err != nil {
		h.t.Fatalf("Token: %v", err)
	}
	return tok
}

// end ends the "process": the engine stores the context if it changed,
// through JSON as it would.
func (h *harness) end() (changed bool) {
	h.t.Helper()
	if !h.store.Changed() {
		return false
	}
	b, err := json.Marshal(h.store.Map())
	if err != nil {
		h.t.Fatal(err)
	}
	h.ctx = map[string]any{}
	if err := json.Unmarshal(b, &h.ctx); err != nil {
		h.t.Fatal(err)
	}
	return true
}

// counts returns the emulator's identity counters.
func (h *harness) counts() map[string]int {
	out := map[string]int{}
	for _, n := range []string{"token", "openid-configuration", "oproxy", "managed-identity"} {
		out[n] = h.srv.Count(n)
	}
	return out
}

func cred(v string) map[string]any { return map[string]any{"identifier": "", "password": v} }

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// mustSourceWithClock is sourceWithClock that fails the test on error.
func (h *harness) mustSourceWithClock(raw map[string]any, c clock.Clock) auth.TokenSource {
	h.t.Helper()
	ts, err := h.sourceWithClock(raw, c)
	if err != nil {
		h.t.Fatalf("auth.New: %v", err)
	}
	return ts
}

package commands

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/params"
)

// authRun is one process run through the real dispatcher with the
// production token source, against the emulator.
type authRun struct {
	t   *testing.T
	srv *emulator.Server
	clk *clock.Fake
	ctx map[string]any // the engine's stored integrationContext
}

func newAuthRun(t *testing.T) *authRun {
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	srv := emulator.NewTLSServer(emulator.WithClock(clk))
	t.Cleanup(srv.Close)
	srv.AddTenant(tenantGUID)
	return &authRun{t: t, srv: srv, clk: clk, ctx: map[string]any{}}
}

func (a *authRun) run(command string, p map[string]any) *Output {
	a.t.Helper()
	raw, _ := json.Marshal(map[string]any{"command": command, "params": p, "integrationContext": a.ctx})
	envl, err := DecodeEnvelope(raw)
	if err != nil {
		a.t.Fatal(err)
	}
	tr := a.srv.Client().Transport
	out, code := Run(context.Background(), envl, &Deps{Clock: a.clk, HTTPClient: func(p *params.Params) *http.Client {
		return &http.Client{Timeout: p.Timeout, Transport: tr}
	}})
	if code != ExitOK {
		a.t.Fatalf("%s: exit %d: %v", command, code, out.Results)
	}
	// The engine replaces its copy when the result carries one (via JSON).
	b, _ := json.Marshal(out)
	var back struct {
		IntegrationContext map[string]any `json:"integrationContext"`
	}
	_ = json.Unmarshal(b, &back)
	if back.IntegrationContext != nil {
		a.ctx = back.IntegrationContext
	}
	return out
}

// The production token source end to end: the first command asks once and
// stores the cache; the next command asks nothing and returns no
// integrationContext; auth-reset clears it (as {}) without a token; the
// command after that asks again.
func TestTokenSourceEndToEnd(t *testing.T) {
	for _, flow := range []string{"client_credentials", "oproxy"} {
		t.Run(flow, func(t *testing.T) {
			a := newAuthRun(t)
			p, counter := a.srv.ClientCredentialsParams(tenantGUID), "token"
			if flow == "oproxy" {
				p, counter = a.srv.OproxyParams(tenantGUID), "oproxy"
			}
			out := a.run(CmdListSubscriptions, p)
			if out.IntegrationContext == nil || a.srv.Count(counter) != 1 {
				t.Fatalf("first run: context %v, requests %d", out.IntegrationContext, a.srv.Count(counter))
			}
			out = a.run(CmdListSubscriptions, p)
			if out.IntegrationContext != nil || a.srv.Count(counter) != 1 {
				t.Fatalf("second run: context %v, requests %d", out.IntegrationContext, a.srv.Count(counter))
			}

			// auth-reset with broken credentials: no token asked, {} returned.
			broken := map[string]any{"self_deployed": true, "private_key": "garbage"}
			out = a.run(CmdAuthReset, broken)
			b, _ := json.Marshal(out)
			if !strings.Contains(string(b), `"integrationContext":{}`) || a.srv.Count(counter) != 1 {
				t.Fatalf("auth-reset: %s (requests %d)", b, a.srv.Count(counter))
			}
			if c, _ := out.Results[0].Contents.(string); c != AuthResetMessage {
				t.Fatalf("auth-reset said %q", c)
			}
			a.run(CmdListSubscriptions, p)
			if a.srv.Count(counter) != 2 {
				t.Fatalf("after reset: requests %d", a.srv.Count(counter))
			}
		})
	}
}

// The whole delegated loop: generate-login-url points at the emulator's
// authorize endpoint, "signing in" there yields a code, and the next command
// redeems it; later commands refresh silently.
func TestLoginURLToAuthCode(t *testing.T) {
	a := newAuthRun(t)
	a.srv.RegisterApp(emulator.App{TenantID: tenantGUID, ClientID: "user-app", Secret: "user-app-secret"})
	p := map[string]any{
		"base_url": a.srv.BaseURL(), "authority_url": a.srv.URL, "self_deployed": true,
		"credentials_auth_id": map[string]any{"password": "user-app"}, "credentials_refresh_token": map[string]any{"password": tenantGUID},
		"credentials_enc_key": map[string]any{"password": "user-app-secret"}, "redirect_uri": "https://localhost/callback",
	}
	out := a.run(CmdGenerateLoginURL, p)
	md, _ := out.Results[0].Contents.(string)
	m := regexp.MustCompile(`\[login URL\]\(([^)]+)\)`).FindStringSubmatch(md)
	if m == nil || out.IntegrationContext != nil {
		t.Fatalf("no login URL in %q", md)
	}
	client := a.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize answered %d %s", resp.StatusCode, loc)
	}

	p["credentials_auth_code"] = map[string]any{"password": code}
	a.run(CmdListSubscriptions, p)
	a.clk.Advance(2 * time.Hour)
	a.run(CmdListSubscriptions, p) // refresh-token grant; the code is not sent again
	if a.srv.Count("token") != 2 {
		t.Fatalf("token requests = %d, want 2", a.srv.Count("token"))
	}
}

// tenantGUID is the emulated tenant of these tests: generate-login-url
// accepts only a GUID or a domain as the tenant.
const tenantGUID = "8a1b2c3d-0000-4000-8000-00000000abcd"

// A token revoked while cached: the API answers 401, the token source
// refreshes exactly once, the command succeeds and stores the new token.
func TestUnauthorizedRefreshesOnce(t *testing.T) {
	for _, flow := range []string{"client_credentials", "oproxy"} {
		t.Run(flow, func(t *testing.T) {
			a := newAuthRun(t)
			p, counter := a.srv.ClientCredentialsParams(tenantGUID), "token"
			if flow == "oproxy" {
				p, counter = a.srv.OproxyParams(tenantGUID), "oproxy"
			}
			a.run(CmdListSubscriptions, p)
			a.srv.RevokeTokens()
			if out := a.run(CmdListSubscriptions, p); out.IntegrationContext == nil {
				t.Fatal("the refreshed token was not stored")
			}
			if a.srv.Count(counter) != 2 {
				t.Fatalf("requests = %d, want 2", a.srv.Count(counter))
			}
			a.run(CmdListSubscriptions, p)
			if a.srv.Count(counter) != 2 {
				t.Fatal("the refreshed token was not reused")
			}
		})
	}
}

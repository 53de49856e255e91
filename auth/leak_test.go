package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// leakFinder knows the secret values of a test and finds any of their
// forms (raw, base64, URL-escaped, each long line of a PEM key) in text.
type leakFinder struct{ secrets []string }

func (l *leakFinder) add(ss ...string) {
	for _, s := range ss {
		if s = strings.TrimSpace(s); len(s) >= 8 {
			l.secrets = append(l.secrets, s)
		}
	}
}

func (l *leakFinder) find(text string) string {
	for _, s := range l.secrets {
		forms := []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)), url.QueryEscape(s)}
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				forms = append(forms, line)
			}
		}
		for _, f := range forms {
			if strings.Contains(text, f) {
				return s
			}
		}
	}
	return ""
}

// tokensIn collects every token persisted in an integrationContext: ours,
// the legacy keys and the secrets inside MSAL's cache.
func tokensIn(ctx map[string]any) []string {
	var out []string
	for _, k := range []string{"access_token", "current_refresh_token"} {
		if s, ok := ctx[k].(string); ok {
			out = append(out, s)
		}
	}
	rec, _ := ctx["auth"].(map[string]any)
	for _, k := range []string{"access_token", "refresh_token"} {
		if s, ok := rec[k].(string); ok {
			out = append(out, s)
		}
	}
	if blob, ok := rec["msal_cache"].(string); ok {
		var c map[string]map[string]map[string]any
		_ = json.Unmarshal([]byte(blob), &c)
		for _, kind := range c {
			for _, entry := range kind {
				if s, ok := entry["secret"].(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// TestNoSecretLeaks runs every flow, success and failure paths, with debug
// logging, and checks that no secret (client secret, private key, auth code,
// the oproxy key and token, access and refresh tokens) appears in a log
// line or an error message; and that the configured credentials are never
// persisted (only tokens are, in the cache).
func TestNoSecretLeaks(t *testing.T) {
	h := newHarness(t)
	leaks := &leakFinder{}
	var errs []string
	var contexts []map[string]any
	run := func(p map[string]any, wantErr bool) {
		t.Helper()
		ts, err := h.source(p)
		if err == nil {
			var tok string
			tok, err = ts.Token(context.Background())
			leaks.add(tok)
			if err == nil {
				ts.Invalidate()
				tok, err = ts.Token(context.Background())
				leaks.add(tok)
			}
		}
		if (err != nil) != wantErr {
			t.Fatalf("err = %v, want error %v", err, wantErr)
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
		h.end()
		contexts = append(contexts, h.ctx)
	}
	reset := func() { h.ctx = map[string]any{} }

	// Client credentials: secret.
	p := h.srv.ClientCredentialsParams("tenant-1")
	secret := p["credentials_enc_key"].(map[string]any)["password"].(string)
	leaks.add(secret)
	run(p, false)
	bad := clone(p)
	bad["credentials_enc_key"] = cred("Wrong~Secret.value-123456")
	leaks.add("Wrong~Secret.value-123456")
	run(bad, true)

	// Certificate: thumbprint + key, with the certificate, wrong certificate, bad PEM.
	c, other := newTestCert(t), newTestCert(t)
	leaks.add(c.pkcs1, c.pkcs8, other.pkcs8)
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: "cert-app", Certificate: c.cert})
	reset()
	pc := selfDeployed(h.srv, "cert-app")
	pc["credentials_certificate_thumbprint"] = cred(c.thumbprint)
	pc["private_key"] = c.pkcs1
	run(pc, false)
	pc2 := clone(pc)
	pc2["private_key"] = c.pkcs8 + c.certPEM
	run(pc2, false)
	pw := clone(pc)
	pw["credentials_certificate_thumbprint"] = cred(other.thumbprint)
	pw["private_key"] = other.pkcs8
	run(pw, true)
	pb := clone(pc)
	pb["private_key"] = strings.Replace(c.pkcs8, "PRIVATE KEY-----\n", "PRIVATE KEY-----\nAAAA", 1)
	run(pb, true)

	// Authorization code: success, expired, malformed, redeemed after reset.
	reset()
	code := h.srv.AddAuthCode("tenant-1", "user-app", "https://localhost/callback")
	leaks.add(code, "user-app-secret-value")
	pa := authCodeParams(h, code)
	run(pa, false)
	h.clk.Advance(2 * time.Hour)
	run(pa, false) // refresh-token grant
	reset()
	run(pa, true) // already redeemed
	expired := h.srv.AddAuthCode("tenant-1", "user-app", "https://localhost/callback")
	leaks.add(expired)
	h.clk.Advance(time.Hour)
	run(authCodeParams(h, expired), true)
	run(authCodeParams(h, expired+"&session_state=xyz"), true)

	// Managed identity: success and an unknown user-assigned identity.
	reset()
	endpoint, header := h.srv.RegisterManagedIdentity("", "tenant-1")
	t.Setenv("IDENTITY_ENDPOINT", endpoint)
	t.Setenv("IDENTITY_HEADER", header)
	leaks.add(header)
	run(map[string]any{"base_url": h.srv.BaseURL(), "use_managed_identities": true}, false)
	reset()
	run(map[string]any{"base_url": h.srv.BaseURL(), "use_managed_identities": true, "managed_identities_client_id": cred("unknown-identity")}, true)

	// Oproxy: success, broker refusing, delayed by the back-off.
	reset()
	po := h.srv.OproxyParams("tenant-1")
	leaks.add(po["credentials_refresh_token"].(map[string]any)["password"].(string), po["credentials_enc_key"].(map[string]any)["password"].(string))
	run(po, false)
	reset()
	pr := clone(po)
	pr["credentials_refresh_token"] = cred("0.oproxy-refused-token-value")
	leaks.add("0.oproxy-refused-token-value")
	run(pr, true)
	run(pr, true)

	for _, ctx := range contexts {
		leaks.add(tokensIn(ctx)...)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "auth flow selected") || !strings.Contains(logs, "access token acquired") {
		t.Fatalf("debug logs missing; the test would prove nothing:\n%s", logs)
	}
	if len(errs) < 9 {
		t.Fatalf("only %d failures exercised", len(errs))
	}
	if s := leaks.find(logs); s != "" {
		t.Errorf("a secret appears in the logs: %.12s...", s)
	}
	for _, e := range errs {
		if s := leaks.find(e); s != "" {
			t.Errorf("a secret appears in the error %q", e)
		}
	}

	// Configured credentials are never persisted, not even in the cache.
	creds := &leakFinder{}
	creds.add(secret, "user-app-secret-value", c.pkcs1, c.pkcs8, code, expired,
		po["credentials_enc_key"].(map[string]any)["password"].(string))
	for _, ctx := range contexts {
		b, _ := json.Marshal(ctx)
		if s := creds.find(string(b)); s != "" {
			t.Errorf("a configured credential is persisted in integrationContext: %.12s...", s)
		}
	}

	// The finder itself is not blind: a deliberately logged secret is caught.
	var buf testutil.SyncBuffer
	slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).Debug("oops", "client_secret", secret)
	if leaks.find(buf.String()) == "" {
		t.Fatal("leak finder missed a deliberately logged secret")
	}
}

package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/emulator"
)

func TestMisconfiguration(t *testing.T) {
	h := newHarness(t)
	c := newTestCert(t)
	other := newTestCert(t)
	base := func() map[string]any { return selfDeployed(h.srv, "app-1") }
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		p    map[string]any
		want string
	}{
		{"oproxy without key", map[string]any{"credentials_auth_id": cred("reg"), "credentials_refresh_token": cred("tok")},
			"Key must be provided. For further information see https://xsoar.pan.dev/docs/reference/articles/microsoft-integrations---authentication"},
		{"oproxy without token", map[string]any{"credentials_auth_id": cred("reg"), "credentials_enc_key": cred("a2V5a2V5a2V5a2V5a2V5aw==")},
			"Token or Tenant ID must be provided"},
		{"oproxy key not base64", map[string]any{"credentials_auth_id": cred("reg"), "credentials_refresh_token": cred("tok"), "credentials_enc_key": cred("not base64!")},
			"The Key parameter is not a valid key of the Cortex XSOAR application"},
		{"oproxy broker over plain http", map[string]any{"credentials_auth_id": cred("reg@http://example.com/obtain-token"), "credentials_refresh_token": cred("tok"), "credentials_enc_key": cred("a2V5a2V5a2V5a2V5a2V5aw==")},
			"must be an https URL"},
		{"no client ID", with(base(), "credentials_auth_id", cred(""), "credentials_enc_key", cred("s")), "Application ID or Client ID must be provided."},
		{"no tenant", with(base(), "credentials_refresh_token", cred(""), "credentials_enc_key", cred("s")), "Token or Tenant ID must be provided: in self-deployed mode it is the Entra ID"},
		{"no secret nor certificate", base(), "Key or Certificate Thumbprint and Private Key must be provided."},
		{"thumbprint without key", with(base(), "credentials_certificate_thumbprint", cred(c.thumbprint)), "Key or Certificate Thumbprint and Private Key must be provided."},
		{"key without thumbprint", with(base(), "private_key", c.pkcs8), "Key or Certificate Thumbprint and Private Key must be provided."},
		{"bad key PEM", with(base(), "credentials_certificate_thumbprint", cred(c.thumbprint), "private_key", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"),
			"The Private Key parameter could not be read"},
		{"encrypted key", with(base(), "credentials_certificate_thumbprint", cred(c.thumbprint), "private_key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
			"The Private Key parameter could not be read"},
		{"bad thumbprint", with(base(), "credentials_certificate_thumbprint", cred("xyz"), "private_key", c.pkcs8), "The Certificate Thumbprint must be the certificate's SHA-1 thumbprint"},
		{"thumbprint of another certificate", with(base(), "credentials_certificate_thumbprint", cred(other.thumbprint), "private_key", c.pkcs8+c.certPEM),
			"The Certificate Thumbprint does not match the certificate"},
		{"key of another certificate", with(base(), "credentials_certificate_thumbprint", cred(c.thumbprint), "private_key", other.pkcs8+c.certPEM),
			"does not belong to the certificate"},
		{"auth code without redirect URI", with(base(), "credentials_enc_key", cred("s"), "credentials_auth_code", cred("code")),
			"in the self_deployed authentication flow the Authorization code and the Application redirect URI cannot be empty."},
		{"redirect URI without code", with(base(), "credentials_enc_key", cred("s"), "redirect_uri", "https://localhost/cb"),
			"run the ***ms-management-activity-generate-login-url*** command"},
		{"authority over http", with(base(), "credentials_enc_key", cred("s"), "authority_url", "http://login.example.com"),
			"must be an https URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.source(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if n := h.srv.Count("token") + h.srv.Count("openid-configuration") + h.srv.Count("oproxy"); n != 0 {
		t.Fatalf("misconfiguration made %d requests", n)
	}
}

// tokenErr runs one Token call in a fresh process and returns its error.
func tokenErr(t *testing.T, h *harness, p map[string]any) error {
	t.Helper()
	ts := h.mustSource(p)
	_, err := ts.Token(context.Background())
	if err == nil {
		t.Fatal("Token succeeded")
	}
	h.end()
	return err
}

func TestProviderErrors(t *testing.T) {
	h := newHarness(t)
	c := newTestCert(t)
	other := newTestCert(t)
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: "app-1", Secret: "right-secret-value", Certificate: c.cert})
	p := selfDeployed(h.srv, "app-1")

	bad := clone(p)
	bad["credentials_enc_key"] = cred("wrong-secret-value")
	err := tokenErr(t, h, bad)
	if want := "Error in Microsoft authorization. Status: 401, body: invalid_client: AADSTS7000215: Invalid client secret provided."; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("bad secret: %v", err)
	}
	if strings.Contains(err.Error(), "Trace ID") {
		t.Fatalf("trace lines kept: %q", err)
	}

	wrongCert := clone(p)
	wrongCert["credentials_certificate_thumbprint"] = cred(other.thumbprint)
	wrongCert["private_key"] = other.pkcs1
	if err := tokenErr(t, h, wrongCert); !strings.Contains(err.Error(), "Status: 401, body: invalid_client: AADSTS700027") {
		t.Fatalf("wrong certificate: %v", err)
	}

	unknownTenant := clone(p)
	unknownTenant["credentials_enc_key"] = cred("right-secret-value")
	unknownTenant["credentials_refresh_token"] = cred("no-such-tenant")
	if err := tokenErr(t, h, unknownTenant); !strings.Contains(err.Error(), "AADSTS90002: Tenant 'no-such-tenant' not found") {
		t.Fatalf("unknown tenant: %v", err)
	}

	good := clone(p)
	good["credentials_enc_key"] = cred("right-secret-value")
	h.srv.FailTokens(emulator.TokenDown)
	if err := tokenErr(t, h, good); !strings.Contains(err.Error(), "Error in Microsoft authorization") {
		t.Fatalf("down: %v", err)
	}
	h.srv.FailTokens(emulator.TokenServerError)
	if err := tokenErr(t, h, good); !strings.Contains(err.Error(), "Status: 500, body: server_error") {
		t.Fatalf("500: %v", err)
	}
	h.srv.FailTokens(emulator.TokenOK)
	h.token(h.mustSource(good))
}

func TestAuthCodeErrors(t *testing.T) {
	h := newHarness(t)
	redirect := "https://localhost/callback"

	// Pasted with the rest of the redirect URL.
	code := h.srv.AddAuthCode("tenant-1", "user-app", redirect)
	for _, pasted := range []string{code + "&session_state=abc", "code=" + code} {
		err := tokenErr(t, h, authCodeParams(h, pasted))
		if !strings.HasPrefix(err.Error(), "Malformed auth_code parameter: Please copy the auth code from the redirected uri without any additional info and without the \"session_state\" query parameter.") {
			t.Fatalf("malformed: %v", err)
		}
	}
	if h.srv.Count("token") != 0 {
		t.Fatal("a malformed code was sent")
	}

	// Expired: the reference's auth-reset hint.
	h.clk.Advance(11 * time.Minute)
	err := tokenErr(t, h, authCodeParams(h, code))
	if !strings.Contains(err.Error(), "AADSTS70008") || !strings.HasSuffix(err.Error(), "You can run the ***ms-management-activity-auth-reset*** command to reset the authentication process.") {
		t.Fatalf("expired: %v", err)
	}

	// A fresh code works; after auth-reset the same code is redeemed again
	// and Entra ID says it was already redeemed.
	code = h.srv.AddAuthCode("tenant-1", "user-app", redirect)
	p := authCodeParams(h, code)
	h.token(h.mustSource(p))
	h.end()
	h.ctx = map[string]any{} // auth-reset
	if err := tokenErr(t, h, p); !strings.Contains(err.Error(), "AADSTS54005") || !strings.Contains(err.Error(), "auth-reset") {
		t.Fatalf("redeemed: %v", err)
	}
}

func TestOproxyBackoff(t *testing.T) {
	h := newHarness(t)
	p := h.srv.OproxyParams("tenant-1")
	refused := clone(p)
	refused["credentials_refresh_token"] = cred("0.oproxy-revoked-token-value")

	err := tokenErr(t, h, refused)
	if want := "Error in Microsoft authorization. Status: 403, body: "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "Forbidden: The refresh token is not valid") {
		t.Fatalf("refused: %v", err)
	}
	// Within the back-off: no request, the reference's message.
	err = tokenErr(t, h, refused)
	if !strings.HasPrefix(err.Error(), "The request will be delayed until ") || h.srv.Count("oproxy") != 1 {
		t.Fatalf("back-off: %v (requests %d)", err, h.srv.Count("oproxy"))
	}
	// 2 s, then 4 s, ... capped at 64 s.
	waits := []time.Duration{2, 4, 8, 16, 32, 64, 64}
	for i, w := range waits {
		h.clk.Advance(w*time.Second - time.Second)
		if err := tokenErr(t, h, refused); !strings.HasPrefix(err.Error(), "The request will be delayed") {
			t.Fatalf("wait %d: asked before %v: %v", i, w, err)
		}
		h.clk.Advance(time.Second)
		if err := tokenErr(t, h, refused); !strings.HasPrefix(err.Error(), "Error in Microsoft authorization") {
			t.Fatalf("wait %d: not retried after %v: %v", i, w, err)
		}
	}
	// Fixing the token (a new configuration) starts afresh and succeeds.
	h.token(h.mustSource(p))
	h.end()
	var rec map[string]any
	rec, _ = h.ctx["auth"].(map[string]any)
	if rec["failures"] != nil || rec["next_request_time"] != nil {
		t.Fatalf("back-off not reset: %v", rec)
	}
}

func TestOproxyBrokerDown(t *testing.T) {
	h := newHarness(t)
	p := h.srv.OproxyParams("tenant-1")
	h.srv.FailTokens(emulator.TokenServerError)
	if err := tokenErr(t, h, p); !strings.Contains(err.Error(), "Status: 500") {
		t.Fatal(err)
	}
	h.srv.FailTokens(emulator.TokenOK)
	h.clk.Advance(2 * time.Second)
	h.token(h.mustSource(p))
}

// A changed client ID, tenant or secret invalidates the stored cache.
func TestConfigChangeInvalidatesCache(t *testing.T) {
	h := newHarness(t)
	p := h.srv.ClientCredentialsParams("tenant-1")
	h.token(h.mustSource(p))
	h.end()
	stored := h.ctx

	secret := p["credentials_enc_key"].(map[string]any)["password"].(string)
	clientID := p["credentials_auth_id"].(map[string]any)["password"].(string)
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: clientID, Secret: secret + "-rotated"})
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-2", ClientID: "app-2", Secret: secret})
	changes := []map[string]any{
		{"credentials_enc_key": cred(secret + "-rotated")},
		{"credentials_refresh_token": cred("tenant-2"), "credentials_auth_id": cred("app-2")},
	}
	for i, ch := range changes {
		q := clone(p)
		for k, v := range ch {
			q[k] = v
		}
		h.ctx = stored
		before := h.srv.Count("token")
		tok := h.token(h.mustSource(q))
		if h.srv.Count("token") != before+1 {
			t.Fatalf("change %d: stored token reused", i)
		}
		if tid, _ := activity.TenantFromToken(tok); tid != q["credentials_refresh_token"].(map[string]any)["password"] {
			t.Fatalf("change %d: token of tenant %q", i, tid)
		}
	}
}

package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // thumbprint
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// testCert is a self-signed certificate and its key in the PEM forms a user
// may paste.
type testCert struct {
	cert       *x509.Certificate
	thumbprint string // hex SHA-1, as the portal shows it
	pkcs1      string // "RSA PRIVATE KEY"
	pkcs8      string // "PRIVATE KEY"
	certPEM    string
}

func newTestCert(t *testing.T) testCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ms-management-activity test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sum := sha1.Sum(der) //nolint:gosec // thumbprint
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	return testCert{
		cert:       cert,
		thumbprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		pkcs1:      string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		pkcs8:      string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		certPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
	}
}

func selfDeployed(srv *emulator.Server, clientID string) map[string]any {
	return map[string]any{
		"base_url":                  srv.BaseURL(),
		"authority_url":             srv.URL,
		"self_deployed":             true,
		"credentials_auth_id":       cred(clientID),
		"credentials_refresh_token": cred("tenant-1"),
	}
}

func TestClientCredentialsCertificateThumbprintAndKey(t *testing.T) {
	h := newHarness(t)
	c := newTestCert(t)
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: "cert-app", Certificate: c.cert})
	p := selfDeployed(h.srv, "cert-app")
	p["credentials_certificate_thumbprint"] = cred(c.thumbprint)
	p["private_key"] = c.pkcs1 // PKCS#1, no certificate: our RS256 assertion with x5t
	checkCacheLifecycle(t, h, p, "token")
}

func TestClientCredentialsCertificateWithCert(t *testing.T) {
	h := newHarness(t)
	c := newTestCert(t)
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: "cert-app", Certificate: c.cert})
	p := selfDeployed(h.srv, "cert-app")
	// The portal's colon-separated lower-case form is accepted too.
	p["certificate_thumbprint"] = strings.ToLower(c.thumbprint[:2] + ":" + c.thumbprint[2:])
	p["private_key"] = c.pkcs8 + c.certPEM // PKCS#8 + certificate: MSAL's own PS256 assertion
	checkCacheLifecycle(t, h, p, "token")
}

func TestCertificateTakesPrecedenceOverSecret(t *testing.T) {
	h := newHarness(t)
	c := newTestCert(t)
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: "cert-app", Certificate: c.cert})
	p := selfDeployed(h.srv, "cert-app")
	p["credentials_enc_key"] = cred("not-registered-secret")
	p["credentials_certificate_thumbprint"] = cred(c.thumbprint)
	p["private_key"] = c.pkcs8
	h.token(h.mustSource(p))
}

func authCodeParams(h *harness, code string) map[string]any {
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: "user-app", Secret: "user-app-secret-value"})
	p := selfDeployed(h.srv, "user-app")
	p["credentials_enc_key"] = cred("user-app-secret-value")
	p["redirect_uri"] = "https://localhost/callback"
	if code != "" {
		p["credentials_auth_code"] = cred(code)
	}
	return p
}

func TestAuthCode(t *testing.T) {
	h := newHarness(t)
	p := authCodeParams(h, "")
	p["credentials_auth_code"] = cred(h.srv.AddAuthCode("tenant-1", "user-app", "https://localhost/callback"))
	// Redeem, reuse, refresh by refresh token after expiry and after a 401:
	// the code stays configured throughout and is never sent again (the
	// emulator would answer AADSTS54005 if it were).
	checkCacheLifecycle(t, h, p, "token")

	// The user removes the code from the instance: the refresh token goes on.
	delete(p, "credentials_auth_code")
	h.clk.Advance(2 * time.Hour)
	h.token(h.mustSource(p))
	if got := h.srv.Count("token"); got != 4 {
		t.Fatalf("token requests = %d, want 4", got)
	}
}

func TestAuthCodeWithCertificate(t *testing.T) {
	h := newHarness(t)
	c := newTestCert(t)
	h.srv.RegisterApp(emulator.App{TenantID: "tenant-1", ClientID: "user-app", Certificate: c.cert})
	p := selfDeployed(h.srv, "user-app")
	p["redirect_uri"] = "https://localhost/callback"
	p["credentials_certificate_thumbprint"] = cred(c.thumbprint)
	p["private_key"] = c.pkcs8
	p["credentials_auth_code"] = cred(h.srv.AddAuthCode("tenant-1", "user-app", "https://localhost/callback"))
	checkCacheLifecycle(t, h, p, "token")
}

func TestManagedIdentity(t *testing.T) {
	for _, userAssigned := range []string{"", "mi-client-1"} {
		t.Run("user-assigned="+userAssigned, func(t *testing.T) {
			h := newHarness(t)
			endpoint, header := h.srv.RegisterManagedIdentity(userAssigned, "tenant-1")
			t.Setenv("IDENTITY_ENDPOINT", endpoint)
			t.Setenv("IDENTITY_HEADER", header)
			p := map[string]any{"base_url": h.srv.BaseURL(), "use_managed_identities": "true"}
			if userAssigned != "" {
				p["managed_identities_client_id"] = cred(userAssigned)
			}
			checkCacheLifecycle(t, h, p, "managed-identity")
		})
	}
}

// A user switching over from the reference keeps its oproxy refresh token
// and its still-valid access token.
func TestMigrationOproxy(t *testing.T) {
	h := newHarness(t)
	id, token, key := h.srv.RegisterBroker("reg-1", "tenant-1")
	p := map[string]any{"base_url": h.srv.BaseURL(), "credentials_auth_id": cred(id), "credentials_refresh_token": cred(token), "credentials_enc_key": cred(key)}

	// The reference obtained tokens: its current refresh token is the only
	// one the broker still accepts after we rotate through it.
	ts := h.mustSource(p)
	h.token(ts)
	h.end()
	var rec map[string]any
	rec, _ = h.ctx["auth"].(map[string]any)
	rt, _ := rec["refresh_token"].(string)
	at, _ := rec["access_token"].(string)
	validUntil := h.clk.Now().Add(50 * time.Minute).Unix()
	h.ctx = map[string]any{"access_token": at, "valid_until": float64(validUntil), "current_refresh_token": rt}

	before := h.srv.Count("oproxy")
	if got := h.token(h.mustSource(p)); got != at {
		t.Fatal("the reference's valid access token was not reused")
	}
	if h.srv.Count("oproxy") != before {
		t.Fatal("migration asked the broker though the access token was valid")
	}
	h.end()
	if _, ok := h.ctx["access_token"]; ok {
		t.Fatal("legacy keys not removed after migration")
	}
	// Expiry: the migrated refresh token is used.
	h.clk.Advance(time.Hour)
	h.token(h.mustSource(p))
	if h.srv.Count("oproxy") != before+1 {
		t.Fatal("no refresh after expiry")
	}
}

// A delegated refresh token stored by the reference is imported into MSAL's
// cache and refreshed; the already-redeemed code is not sent again.
func TestMigrationAuthCode(t *testing.T) {
	h := newHarness(t)
	p := authCodeParams(h, "0.code-the-reference-redeemed-long-ago")
	h.ctx = map[string]any{"current_refresh_token": h.srv.AddRefreshToken("tenant-1", "user-app"), "access_token": "stale", "valid_until": float64(1)}
	ts := h.mustSource(p)
	tok := h.token(ts)
	if h.srv.Count("token") != 1 {
		t.Fatalf("token requests = %d, want 1", h.srv.Count("token"))
	}
	h.end()
	if _, ok := h.ctx["current_refresh_token"]; ok {
		t.Fatal("legacy refresh token kept")
	}
	// Second run: cached; after expiry: refreshed with MSAL's own refresh token.
	if h.token(h.mustSource(p)) != tok || h.srv.Count("token") != 1 {
		t.Fatal("second run did not reuse the cache")
	}
	h.end()
	h.clk.Advance(2 * time.Hour)
	if h.token(h.mustSource(p)) == tok || h.srv.Count("token") != 2 {
		t.Fatal("no refresh after expiry")
	}
	_ = context.Background()
}

package emulator

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // thumbprint
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secops-go/ms-management-activity/internal/clock"
)

type idFixture struct {
	t   *testing.T
	s   *Server
	clk *clock.Fake
}

func newIDFixture(t *testing.T) *idFixture {
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	s := NewTLSServer(WithClock(clk))
	t.Cleanup(s.Close)
	return &idFixture{t: t, s: s, clk: clk}
}

type idReply struct {
	status int
	body   map[string]any
	raw    string
}

func (f *idFixture) do(req *http.Request) idReply {
	f.t.Helper()
	resp, err := f.s.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := idReply{status: resp.StatusCode, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

func (f *idFixture) form(path string, v url.Values) idReply {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.s.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

func (f *idFixture) apiStatus(tok string) int {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.s.BaseURL()+"t1/activity/feed/subscriptions/list?PublisherIdentifier=x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return f.do(req).status
}

func wantOAuthError(t *testing.T, r idReply, status int, code string, aadsts int) {
	t.Helper()
	codes, _ := r.body["error_codes"].([]any)
	if r.status != status || r.body["error"] != code || len(codes) != 1 || int(codes[0].(float64)) != aadsts {
		t.Fatalf("got %d %s, want %d %s AADSTS%d", r.status, r.raw, status, code, aadsts)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	f := newIDFixture(t)
	f.s.RegisterApp(App{TenantID: "t1", ClientID: "c1", Secret: "s1"})
	req, _ := http.NewRequest(http.MethodGet, f.s.URL+"/t1/v2.0/.well-known/openid-configuration", nil)
	r := f.do(req)
	if r.status != 200 || r.body["issuer"] != f.s.URL+"/t1/v2.0" || r.body["token_endpoint"] != f.s.URL+"/t1/oauth2/v2.0/token" ||
		r.body["authorization_endpoint"] != f.s.URL+"/t1/oauth2/v2.0/authorize" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	req, _ = http.NewRequest(http.MethodGet, f.s.URL+"/nope/v2.0/.well-known/openid-configuration", nil)
	wantOAuthError(t, f.do(req), 400, "invalid_tenant", 90002)
	if f.s.Count("openid-configuration") != 2 {
		t.Fatal(f.s.Count("openid-configuration"))
	}
}

func TestClientCredentialsSecretV1AndV2(t *testing.T) {
	f := newIDFixture(t)
	f.s.RegisterApp(App{TenantID: "t1", ClientID: "c1", Secret: "s1"})
	f.s.setTokenTTL(10 * time.Minute)
	r := f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"s1"}, "scope": {"https://manage.office.com/.default openid"}})
	if r.status != 200 || r.body["expires_in"] != float64(600) || r.body["refresh_token"] != nil {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if f.apiStatus(r.body["access_token"].(string)) != 200 {
		t.Fatal("issued token refused by the API")
	}
	r = f.form("/t1/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"s1"}, "resource": {"https://manage.office.com"}})
	if r.status != 200 {
		t.Fatalf("v1: %d %s", r.status, r.raw)
	}
	wantOAuthError(t, f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"bad"}, "scope": {"https://manage.office.com/.default"}}), 401, "invalid_client", 7000215)
	wantOAuthError(t, f.form("/t2/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"s1"}, "scope": {"https://manage.office.com/.default"}}), 400, "unauthorized_client", 700016)
	wantOAuthError(t, f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"s1"}, "scope": {"openid"}}), 400, "invalid_scope", 1002012)
	wantOAuthError(t, f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}}), 401, "invalid_client", 7000218)
	if f.s.Count("token") != 6 {
		t.Fatal(f.s.Count("token"))
	}
}

func idCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func TestClientAssertion(t *testing.T) {
	f := newIDFixture(t)
	cert, key := idCert(t)
	_, otherKey := idCert(t)
	f.s.RegisterApp(App{TenantID: "t1", ClientID: "c1", Certificate: cert})
	sum := sha1.Sum(cert.Raw) //nolint:gosec // thumbprint
	x5t := base64.RawURLEncoding.EncodeToString(sum[:])
	aud := f.s.URL + "/t1/oauth2/v2.0/token"
	sign := func(method jwt.SigningMethod, header string, x5t string, k *rsa.PrivateKey, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header[header] = x5t
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	claims := func(aud, iss string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"aud": aud, "iss": iss, "sub": iss, "jti": "j", "nbf": now.Unix(), "exp": exp.Unix()}
	}
	post := func(assertion string) idReply {
		return f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "scope": {"https://manage.office.com/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
	}
	if r := post(sign(jwt.SigningMethodRS256, "x5t", x5t, key, claims(aud, "c1", now.Add(5*time.Minute)))); r.status != 200 {
		t.Fatalf("RS256: %d %s", r.status, r.raw)
	}
	s256 := func() string { h := sha256Sum(cert.Raw); return base64.StdEncoding.EncodeToString(h) }()
	if r := post(sign(jwt.SigningMethodPS256, "x5t#S256", s256, key, claims(aud, "c1", now.Add(5*time.Minute)))); r.status != 200 {
		t.Fatalf("PS256: %d %s", r.status, r.raw)
	}
	bad := map[string]string{
		"other key":       sign(jwt.SigningMethodRS256, "x5t", x5t, otherKey, claims(aud, "c1", now.Add(5*time.Minute))),
		"wrong x5t":       sign(jwt.SigningMethodRS256, "x5t", "AAAA", key, claims(aud, "c1", now.Add(5*time.Minute))),
		"wrong audience":  sign(jwt.SigningMethodRS256, "x5t", x5t, key, claims("https://login.microsoftonline.com/t1/oauth2/v2.0/token", "c1", now.Add(5*time.Minute))),
		"wrong issuer":    sign(jwt.SigningMethodRS256, "x5t", x5t, key, claims(aud, "c2", now.Add(5*time.Minute))),
		"expired":         sign(jwt.SigningMethodRS256, "x5t", x5t, key, claims(aud, "c1", now.Add(-time.Hour))),
		"not a signature": "e30.e30.e30",
	}
	for name, a := range bad {
		r := post(a)
		if r.status != 401 || !strings.Contains(r.raw, "AADSTS700027") {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
}

func TestAuthorizationCodeAndRefresh(t *testing.T) {
	f := newIDFixture(t)
	f.s.RegisterApp(App{TenantID: "t1", ClientID: "c1", Secret: "s1"})
	code := f.s.AddAuthCode("t1", "c1", "https://localhost/cb")
	redeem := func(code, redirect string) idReply {
		return f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"c1"}, "client_secret": {"s1"},
			"code": {code}, "redirect_uri": {redirect}, "scope": {"https://manage.office.com/.default openid offline_access"}})
	}
	wantOAuthError(t, redeem(code, "https://localhost/other"), 400, "invalid_grant", 50148)
	r := redeem(code, "https://localhost/cb")
	if r.status != 200 || r.body["refresh_token"] == nil || r.body["id_token"] == nil || r.body["client_info"] == nil {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	ci, _ := base64.RawURLEncoding.DecodeString(r.body["client_info"].(string))
	if !strings.Contains(string(ci), `"utid":"t1"`) {
		t.Fatalf("client_info %s", ci)
	}
	wantOAuthError(t, redeem(code, "https://localhost/cb"), 400, "invalid_grant", 54005)
	expired := f.s.AddAuthCode("t1", "c1", "https://localhost/cb")
	f.clk.Advance(10 * time.Minute)
	wantOAuthError(t, redeem(expired, "https://localhost/cb"), 400, "invalid_grant", 70008)
	wantOAuthError(t, redeem("made-up", "https://localhost/cb"), 400, "invalid_grant", 9002313)

	refresh := func(rt string) idReply {
		return f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"c1"}, "client_secret": {"s1"}, "refresh_token": {rt}})
	}
	r2 := refresh(r.body["refresh_token"].(string))
	if r2.status != 200 || r2.body["refresh_token"] == r.body["refresh_token"] {
		t.Fatalf("refresh: %d %s", r2.status, r2.raw)
	}
	if f.apiStatus(r2.body["access_token"].(string)) != 200 {
		t.Fatal("refreshed token refused")
	}
	wantOAuthError(t, refresh("0.rt-unknown"), 400, "invalid_grant", 700082)
	if r := refresh(f.s.AddRefreshToken("t1", "c1")); r.status != 200 {
		t.Fatalf("AddRefreshToken: %d %s", r.status, r.raw)
	}
}

func TestAuthorizeRedirects(t *testing.T) {
	f := newIDFixture(t)
	f.s.RegisterApp(App{TenantID: "t1", ClientID: "c1", Secret: "s1"})
	client := f.s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(f.s.URL + "/t1/oauth2/v2.0/authorize?response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Flocalhost%2Fcb&scope=offline_access")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "localhost" || loc.Query().Get("code") == "" || loc.Query().Get("session_state") == "" {
		t.Fatalf("%d %s", resp.StatusCode, loc)
	}
	r := f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"c1"}, "client_secret": {"s1"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {"https://localhost/cb"}})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

func TestRevokeTokens(t *testing.T) {
	f := newIDFixture(t)
	f.s.RegisterApp(App{TenantID: "t1", ClientID: "c1", Secret: "s1"})
	get := func() string {
		r := f.form("/t1/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"s1"}, "scope": {"https://manage.office.com/.default"}})
		return r.body["access_token"].(string)
	}
	old := get()
	f.s.RevokeTokens()
	if f.apiStatus(old) != 401 {
		t.Fatal("revoked token accepted")
	}
	if f.apiStatus(get()) != 200 {
		t.Fatal("token issued after revocation refused")
	}
}

func TestTokenFaults(t *testing.T) {
	f := newIDFixture(t)
	f.s.RegisterApp(App{TenantID: "t1", ClientID: "c1", Secret: "s1"})
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"s1"}, "scope": {"https://manage.office.com/.default"}}
	f.s.FailTokens(TokenServerError)
	wantOAuthError(t, f.form("/t1/oauth2/v2.0/token", v), 500, "server_error", 90033)
	f.s.FailTokens(TokenInvalidClient)
	wantOAuthError(t, f.form("/t1/oauth2/v2.0/token", v), 401, "invalid_client", 7000215)
	f.s.FailTokens(TokenDown)
	req, _ := http.NewRequest(http.MethodPost, f.s.URL+"/t1/oauth2/v2.0/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := f.s.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("down endpoint answered")
	}
	f.s.FailTokens(TokenOK)
	if r := f.form("/t1/oauth2/v2.0/token", v); r.status != 200 {
		t.Fatal(r.raw)
	}
	if f.s.Count("token") != 4 {
		t.Fatal(f.s.Count("token"))
	}
}

func TestManagedIdentityEndpoint(t *testing.T) {
	f := newIDFixture(t)
	endpoint, header := f.s.RegisterManagedIdentity("", "t1")
	f.s.RegisterManagedIdentity("uami-1", "t1")
	get := func(hdr, clientID string) idReply {
		u := endpoint + "?api-version=2019-08-01&resource=" + url.QueryEscape("https://manage.office.com/")
		if clientID != "" {
			u += "&client_id=" + clientID
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("X-IDENTITY-HEADER", hdr)
		return f.do(req)
	}
	for _, id := range []string{"", "uami-1"} {
		r := get(header, id)
		exp, _ := r.body["expires_on"].(string)
		if r.status != 200 || exp != fmt.Sprint(f.clk.Now().Add(defaultTokenTTL).Unix()) || f.apiStatus(r.body["access_token"].(string)) != 200 {
			t.Fatalf("%q: %d %s", id, r.status, r.raw)
		}
	}
	if r := get("wrong", ""); r.status != 401 {
		t.Fatalf("wrong header: %d", r.status)
	}
	if r := get(header, "unknown"); r.status != 400 {
		t.Fatalf("unknown identity: %d", r.status)
	}
	if f.s.Count("managed-identity") != 4 {
		t.Fatal(f.s.Count("managed-identity"))
	}
}

func brokerEncrypt(t *testing.T, keyB64, plain string) string {
	key, _ := base64.StdEncoding.DecodeString(keyB64)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(plain), nil))
}

func TestBroker(t *testing.T) {
	f := newIDFixture(t)
	id, token, key := f.s.RegisterBroker("reg-1", "t1")
	if id != "reg-1@"+f.s.brokerURL() {
		t.Fatal(id)
	}
	post := func(reg, enc string) idReply {
		b, _ := json.Marshal(map[string]any{"app_name": "ms-management-api", "registration_id": reg, "encrypted_token": enc, "scope": nil, "resource": ""})
		req, _ := http.NewRequest(http.MethodPost, f.s.brokerURL(), strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		return f.do(req)
	}
	now := f.clk.Now().Unix()
	r := post("reg-1", brokerEncrypt(t, key, fmt.Sprintf("%d:%s", now, token)))
	if r.status != 200 || r.body["expires_in"] != float64(3600) || f.apiStatus(r.body["access_token"].(string)) != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	rt := r.body["refresh_token"].(string)
	if r := post("reg-1", brokerEncrypt(t, key, fmt.Sprintf("%d:%s", now, rt))); r.status != 200 {
		t.Fatalf("rotated token: %d %s", r.status, r.raw)
	}
	otherKey := base64.StdEncoding.EncodeToString(make([]byte, 32))
	cases := map[string]struct {
		reg, enc string
		status   int
	}{
		"unknown registration": {"reg-2", brokerEncrypt(t, key, fmt.Sprintf("%d:%s", now, token)), 404},
		"wrong key":            {"reg-1", brokerEncrypt(t, otherKey, fmt.Sprintf("%d:%s", now, token)), 401},
		"stale timestamp":      {"reg-1", brokerEncrypt(t, key, fmt.Sprintf("%d:%s", now-3600, token)), 401},
		"unknown token":        {"reg-1", brokerEncrypt(t, key, fmt.Sprintf("%d:%s", now, "nope")), 403},
		"not base64":           {"reg-1", "***", 401},
	}
	for name, c := range cases {
		if r := post(c.reg, c.enc); r.status != c.status || r.body["title"] == nil {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if f.s.Count("oproxy") != 7 {
		t.Fatal(f.s.Count("oproxy"))
	}
}

func TestParamsHelpers(t *testing.T) {
	f := newIDFixture(t)
	p := f.s.ClientCredentialsParams("t1")
	if p["authority_url"] != f.s.URL || p["self_deployed"] != true {
		t.Fatal(p)
	}
	o := f.s.OproxyParams("t1")
	if !strings.HasSuffix(o["credentials_auth_id"].(map[string]any)["password"].(string), "@"+f.s.brokerURL()) {
		t.Fatal(o)
	}
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

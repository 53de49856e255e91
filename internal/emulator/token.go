package emulator

import (
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // certificate thumbprints are SHA-1 by definition
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The OpenID configuration, authorize and token endpoints of Entra ID, as
// MSAL uses them: client credentials (secret or certificate assertion), the
// authorization code grant and refresh tokens.

// App is an application registration. Register it with RegisterApp.
type App struct {
	TenantID string
	ClientID string
	// Secret is the accepted client secret ("" accepts none).
	Secret string
	// Certificate is the accepted assertion signer ("" accepts none): an
	// RS256 assertion with x5t = its SHA-1 thumbprint (base64url), as the
	// classic flow signs it, or PS256 with x5t#S256 = its SHA-256
	// thumbprint, as MSAL's certificate credential signs it.
	Certificate *x509.Certificate
}

type userGrant struct {
	tenant, clientID, userID string
}

type codeGrant struct {
	userGrant
	redirectURI string
	expires     time.Time
	used        bool
}

// RegisterApp registers (or replaces) an application.
func (s *Server) RegisterApp(app App) {
	s.identity.mu.Lock()
	defer s.identity.mu.Unlock()
	a := app
	s.identity.apps[app.ClientID] = &a
}

// AddAuthCode issues an authorization code for a user of the app, as the
// authorize endpoint would after sign-in. It is valid for 10 minutes on the
// emulator's clock and can be redeemed once.
func (s *Server) AddAuthCode(tenant, clientID, redirectURI string) string {
	s.identity.mu.Lock()
	defer s.identity.mu.Unlock()
	return s.addCodeLocked(tenant, clientID, redirectURI)
}

func (s *Server) addCodeLocked(tenant, clientID, redirectURI string) string {
	code := "0.code-" + identityRandHex(24)
	s.identity.codes[code] = &codeGrant{
		userGrant:   userGrant{tenant: tenant, clientID: clientID, userID: "user-" + identityRandHex(4)},
		redirectURI: redirectURI,
		expires:     s.Now().Add(10 * time.Minute),
	}
	return code
}

// AddRefreshToken issues a delegated refresh token for the app, e.g. one
// the reference integration stored before a user switched over.
func (s *Server) AddRefreshToken(tenant, clientID string) string {
	s.identity.mu.Lock()
	defer s.identity.mu.Unlock()
	return s.newRefreshLocked(userGrant{tenant: tenant, clientID: clientID, userID: "user-" + identityRandHex(4)})
}

func (s *Server) newRefreshLocked(g userGrant) string {
	rt := "0.rt-" + identityRandHex(32)
	s.identity.refresh[rt] = &g
	return rt
}

// ClientCredentialsParams registers an app with a random secret for tenant
// and returns the instance params of the self-deployed client-credentials
// flow against this (TLS) emulator. Callers inject s.Client() as the HTTP
// client.
func (s *Server) ClientCredentialsParams(tenant string) map[string]any {
	clientID := "app-" + identityRandHex(8)
	secret := "secret-" + identityRandHex(16)
	s.RegisterApp(App{TenantID: tenant, ClientID: clientID, Secret: secret})
	return map[string]any{
		"base_url":                  s.BaseURL(),
		"authority_url":             s.URL,
		"self_deployed":             true,
		"credentials_auth_id":       map[string]any{"identifier": "", "password": clientID},
		"credentials_refresh_token": map[string]any{"identifier": "", "password": tenant},
		"credentials_enc_key":       map[string]any{"identifier": "", "password": secret},
	}
}

func (s *Server) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	s.count("openid-configuration")
	tenant := r.PathValue("tenant")
	if !s.tenantKnown(tenant) {
		oauthError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := identityOrigin(r) + "/" + tenant
	writeIdentityJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"tenant_region_scope":                   "NA",
	})
}

// handleAuthorize signs a user in without asking and redirects with a code,
// as Entra ID does after consent (used by a demo following the login URL).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.count("authorize")
	q := r.URL.Query()
	tenant, clientID, redirect := r.PathValue("tenant"), q.Get("client_id"), q.Get("redirect_uri")
	s.identity.mu.Lock()
	app := s.identity.apps[clientID]
	s.identity.mu.Unlock()
	if app == nil || !strings.EqualFold(app.TenantID, tenant) || q.Get("response_type") != "code" || redirect == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", 700016, "AADSTS700016: Application with identifier '"+clientID+"' was not found in the directory '"+tenant+"'.")
		return
	}
	s.identity.mu.Lock()
	code := s.addCodeLocked(app.TenantID, clientID, redirect)
	s.identity.mu.Unlock()
	u, err := url.Parse(redirect)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", 50011, "AADSTS50011: The redirect URI is not valid.")
		return
	}
	v := u.Query()
	v.Set("code", code)
	v.Set("session_state", identityRandHex(8))
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	tenant := r.PathValue("tenant")
	form := r.PostForm
	clientID := form.Get("client_id")
	s.identity.mu.Lock()
	app := s.identity.apps[clientID]
	var appCopy App
	if app != nil {
		appCopy = *app
	}
	s.identity.mu.Unlock()
	if app == nil || !strings.EqualFold(app.TenantID, tenant) {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant.", clientID, tenant))
		return
	}
	if msg, code := s.authenticateClient(&appCopy, form, identityOrigin(r)+r.URL.Path); msg != "" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", code, msg)
		return
	}
	resource := form.Get("resource") // v1 endpoint
	if resource == "" {
		resource = resourceOfScope(form.Get("scope"))
	}

	switch form.Get("grant_type") {
	case "client_credentials":
		if resource == "" {
			oauthError(w, http.StatusBadRequest, "invalid_scope", 1002012, "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
			return
		}
		s.writeToken(w, appCopy.TenantID, nil)
	case "authorization_code":
		s.identity.mu.Lock()
		g := s.identity.codes[form.Get("code")]
		var errCode int
		var errMsg string
		switch {
		case g == nil || g.clientID != clientID:
			errCode, errMsg = 9002313, "AADSTS9002313: Invalid request. Request is malformed or invalid."
		case g.used:
			errCode, errMsg = 54005, "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."
		case !s.Now().Before(g.expires):
			errCode, errMsg = 70008, "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."
		case g.redirectURI != "" && g.redirectURI != form.Get("redirect_uri"):
			errCode, errMsg = 50148, "AADSTS50148: The redirect_uri specified in the token request does not match the one used to obtain the authorization code."
		}
		var ug userGrant
		if errCode == 0 {
			g.used = true
			ug = g.userGrant
		}
		s.identity.mu.Unlock()
		if errCode != 0 {
			oauthError(w, http.StatusBadRequest, "invalid_grant", errCode, errMsg)
			return
		}
		s.writeToken(w, appCopy.TenantID, &ug)
	case "refresh_token":
		s.identity.mu.Lock()
		g := s.identity.refresh[form.Get("refresh_token")]
		var ug userGrant
		if g != nil {
			ug = *g
		}
		s.identity.mu.Unlock()
		if g == nil || ug.clientID != clientID {
			oauthError(w, http.StatusBadRequest, "invalid_grant", 700082, "AADSTS700082: The refresh token has expired due to inactivity.")
			return
		}
		s.writeToken(w, appCopy.TenantID, &ug)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "AADSTS70003: The app requested an unsupported grant type '"+form.Get("grant_type")+"'.")
	}
}

// resourceOfScope returns the resource of a "<resource>/.default" scope in
// a space-separated scope list ("" if there is none).
func resourceOfScope(scope string) string {
	for _, sc := range strings.Fields(scope) {
		if r, ok := strings.CutSuffix(sc, "/.default"); ok {
			return r
		}
	}
	return ""
}

// authenticateClient checks the client secret or the signed assertion; it
// returns an AADSTS message and code on failure.
func (s *Server) authenticateClient(app *App, form url.Values, tokenURL string) (string, int) {
	if secret := form.Get("client_secret"); secret != "" {
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			return "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + app.ClientID + "'.", 7000215
		}
		return "", 0
	}
	assertion := form.Get("client_assertion")
	if assertion == "" {
		return "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", 7000218
	}
	if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return "AADSTS700024: Client assertion type is not valid.", 700024
	}
	if app.Certificate == nil {
		return "AADSTS700027: Client assertion failed signature validation: no certificate is registered for app '" + app.ClientID + "'.", 700027
	}
	return verifyAssertion(app, assertion, tokenURL)
}

// verifyAssertion checks the client assertion as Entra ID does: a
// registered certificate named by x5t (RS256) or x5t#S256 (PS256), aud =
// the token endpoint, iss = sub = client ID, and a current validity window.
// Time is the wall clock: assertions are stamped with real time by MSAL.
func verifyAssertion(app *App, assertion, tokenURL string) (string, int) {
	sha1Sum := sha1.Sum(app.Certificate.Raw) //nolint:gosec // thumbprint
	sha256Sum := sha256.Sum256(app.Certificate.Raw)
	pub, ok := app.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "AADSTS700027: Client assertion failed signature validation: the registered certificate has no RSA key.", 700027
	}
	tok, err := jwt.Parse(assertion, func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case "RS256":
			x5t, _ := t.Header["x5t"].(string)
			if x5t != base64.RawURLEncoding.EncodeToString(sha1Sum[:]) {
				return nil, fmt.Errorf("the x5t header does not match a registered certificate")
			}
		case "PS256":
			x5t, _ := t.Header["x5t#S256"].(string)
			if x5t != base64.StdEncoding.EncodeToString(sha256Sum[:]) && x5t != base64.RawURLEncoding.EncodeToString(sha256Sum[:]) {
				return nil, fmt.Errorf("the x5t#S256 header does not match a registered certificate")
			}
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithAudience(tokenURL), jwt.WithIssuer(app.ClientID),
		jwt.WithSubject(app.ClientID), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Minute))
	if err != nil || !tok.Valid {
		return "AADSTS700027: Client assertion failed signature validation. (" + jwtReason(err) + ")", 700027
	}
	return "", 0
}

func jwtReason(err error) string {
	if err == nil {
		return "invalid token"
	}
	return err.Error()
}

// writeToken answers a successful token request; user is nil for app-only
// tokens, else the response carries a refresh token, an ID token and
// client_info, as Entra ID's does for delegated grants.
func (s *Server) writeToken(w http.ResponseWriter, tenant string, user *userGrant) {
	s.identity.mu.Lock()
	ttl := s.identity.ttl
	s.identity.mu.Unlock()
	at, _ := s.issue(tenant, ttl)
	body := map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int64(ttl / time.Second),
		"ext_expires_in": int64(ttl / time.Second),
		"access_token":   at,
	}
	if user != nil {
		s.identity.mu.Lock()
		body["refresh_token"] = s.newRefreshLocked(*user)
		s.identity.mu.Unlock()
		body["id_token"] = s.idToken(tenant, user)
		ci, _ := json.Marshal(map[string]string{"uid": user.userID, "utid": tenant})
		body["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	writeIdentityJSON(w, http.StatusOK, body)
}

// idToken is an unsigned ID token: MSAL reads its claims and does not
// verify it.
func (s *Server) idToken(tenant string, u *userGrant) string {
	now := s.Now()
	claims, _ := json.Marshal(map[string]any{
		"aud": u.clientID, "iss": s.URL + "/" + tenant + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "name": "Emulated User", "oid": u.userID, "sub": u.userID,
		"tid": tenant, "preferred_username": u.userID + "@example.com", "ver": "2.0",
	})
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
}

// oauthError writes Entra ID's error body.
func oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	body := map[string]any{
		"error":             code,
		"error_description": desc + "\r\nTrace ID: " + identityRandHex(8) + "\r\nCorrelation ID: " + identityRandHex(8) + "\r\nTimestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          identityRandHex(8),
		"correlation_id":    identityRandHex(8),
	}
	if aadsts != 0 {
		body["error_codes"] = []int{aadsts}
	}
	writeIdentityJSON(w, status, body)
}

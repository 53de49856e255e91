package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The emulator's Entra ID (Azure AD) side, shared by its endpoints: the
// state, the failure modes, token issuing and revocation. The endpoints are
// in token.go (OpenID configuration, authorize, token: what MSAL talks to),
// managed.go (the App Service style managed identity endpoint) and
// broker.go (the Cortex XSOAR token broker, "oproxy"). Request counters:
// "openid-configuration", "authorize", "token", "managed-identity", "oproxy".

// TokenFault is a failure mode of every identity endpoint (token, managed
// identity, broker).
type TokenFault int

const (
	// TokenOK serves normally.
	TokenOK TokenFault = iota
	// TokenDown closes the connection without an answer.
	TokenDown
	// TokenServerError answers 500.
	TokenServerError
	// TokenInvalidClient answers 401 invalid_client, as for a wrong secret.
	TokenInvalidClient
)

// defaultTokenTTL is the lifetime of issued access tokens, as Entra ID's.
const defaultTokenTTL = time.Hour

// identityState is the token endpoints' state (registered apps, auth codes,
// refresh tokens, managed identities, the Cortex XSOAR oproxy broker).
type identityState struct {
	mu       sync.Mutex
	ttl      time.Duration
	apps     map[string]*App // by client ID
	codes    map[string]*codeGrant
	refresh  map[string]*userGrant // refresh token -> grant
	mis      map[string]string     // managed identity client ID ("" = system-assigned) -> tenant
	miHeader string
	brokers  map[string]*brokerReg // by registration ID
	issued   []string              // jti of every access token issued
	revoked  map[string]bool
	fault    TokenFault
}

func (s *Server) initIdentity() {
	s.identity = identityState{
		ttl:      defaultTokenTTL,
		apps:     map[string]*App{},
		codes:    map[string]*codeGrant{},
		refresh:  map[string]*userGrant{},
		mis:      map[string]string{},
		miHeader: identityRandHex(16),
		brokers:  map[string]*brokerReg{},
		revoked:  map[string]bool{},
	}
}

func (s *Server) registerIdentity(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleOpenIDConfiguration)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.identityEndpoint("token", s.handleToken))
	mux.HandleFunc("POST /{tenant}/oauth2/token", s.identityEndpoint("token", s.handleToken))
	mux.HandleFunc("GET /msi/token", s.identityEndpoint("managed-identity", s.handleManagedIdentity))
	mux.HandleFunc("GET /metadata/identity/oauth2/token", s.identityEndpoint("managed-identity", s.handleManagedIdentity))
	mux.HandleFunc("POST /obtain-token", s.identityEndpoint("oproxy", s.handleBroker))
}

// identityRevoked reports whether the token with this jti was revoked (for
// "token expired mid-run" faults).
func (s *Server) identityRevoked(jti string) bool {
	s.identity.mu.Lock()
	defer s.identity.mu.Unlock()
	return s.identity.revoked[jti]
}

// setTokenTTL sets the lifetime of the access tokens issued from now on.
func (s *Server) setTokenTTL(ttl time.Duration) {
	s.identity.mu.Lock()
	s.identity.ttl = ttl
	s.identity.mu.Unlock()
}

// RevokeTokens revokes every access token issued so far: the API answers
// 401 to them, as when a token is revoked or expires mid-run.
func (s *Server) RevokeTokens() {
	s.identity.mu.Lock()
	defer s.identity.mu.Unlock()
	for _, jti := range s.identity.issued {
		s.identity.revoked[jti] = true
	}
}

// FailTokens makes every identity endpoint fail as f says until
// FailTokens(TokenOK).
func (s *Server) FailTokens(f TokenFault) {
	s.identity.mu.Lock()
	s.identity.fault = f
	s.identity.mu.Unlock()
}

// identityEndpoint counts a request and applies the configured fault.
func (s *Server) identityEndpoint(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.count(name)
		s.identity.mu.Lock()
		f := s.identity.fault
		s.identity.mu.Unlock()
		switch f {
		case TokenDown:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			oauthError(w, http.StatusBadGateway, "temporarily_unavailable", 0, "The service is down.")
			return
		case TokenServerError:
			oauthError(w, http.StatusInternalServerError, "server_error", 90033, "AADSTS90033: A transient error has occurred. Please try again.")
			return
		case TokenInvalidClient:
			oauthError(w, http.StatusUnauthorized, "invalid_client", 7000215, "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
			return
		}
		h(w, r)
	}
}

// origin is the scheme and host the client used, so the OpenID issuer
// matches the authority whatever loopback name the client dialled.
func identityOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (s *Server) tenantKnown(tenant string) bool {
	s.identity.mu.Lock()
	defer s.identity.mu.Unlock()
	for _, a := range s.identity.apps {
		if strings.EqualFold(a.TenantID, tenant) {
			return true
		}
	}
	return false
}

// issue mints an access token and remembers its jti for RevokeTokens.
func (s *Server) issue(tenant string, ttl time.Duration) (string, time.Time) {
	tok, exp := s.IssueToken(tenant, ttl)
	var c tokenClaims
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(b, &c)
		}
	}
	s.identity.mu.Lock()
	s.identity.issued = append(s.identity.issued, c.ID)
	s.identity.mu.Unlock()
	return tok, exp
}

func identityAbs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func writeIdentityJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func identityRandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Package emulator is an in-process emulator of the Office 365 Management
// Activity API and of the Entra ID (Azure AD) endpoints the auth flows use,
// in the spirit of net/http/httptest: a real HTTP(S) server on loopback with
// a small API for seeding data, injecting faults and counting requests.
// Every client under test talks HTTP to it exactly as it would to Microsoft.
//
// Its surface, by job:
//   - start and stop: NewServer, NewTLSServer (option WithClock), Close,
//     URL, BaseURL (the base_url parameter), Client, Now, TLSServer;
//   - content: AddTenant, Subscribe, AddBlob, Generate (Generation,
//     DemoGeneration, DemoTenantID), MarkExpired, Records, ContentTypes;
//   - identity: RegisterApp (App), AddAuthCode, AddRefreshToken,
//     RegisterManagedIdentity, RegisterBroker, ClientCredentialsParams,
//     OproxyParams, IssueToken, RevokeTokens, FailTokens (TokenFault);
//   - faults: FailNext and SetRandomFaults with a Fault (Throttle,
//     ThrottleUntil, Status,
//     Slow and the predeclared ones), ClearFaults, SetLatency, SetPageSize,
//     SetPagingLoop, ExpireNextPages, BreakBlob, HealBlob, SetRepeatListing,
//     SetClockOffset;
//   - observation: Count, LastPublisherIdentifier, MissingPublisherIdentifier.
//
// Its users are the tests, the benchmarks, and the human command line's demo
// and emulator commands; it is not part of the protocol mode's path.
package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
)

// Server is a running emulator. Create one with NewServer or NewTLSServer
// and Close it when done.
type Server struct {
	// URL is the server's root, e.g. "https://127.0.0.1:40123" (no trailing slash).
	URL string

	srv   *httptest.Server
	mux   *http.ServeMux
	clock clock.Clock
	// offset is added to clock (clock.go): the emulator can run ahead of or
	// behind the clock its clients read.
	offset atomic.Int64
	// broken maps a content ID to the HTTP status its downloads answer
	// until healed (BreakBlob).
	broken sync.Map
	// repeat lists every blob twice (SetRepeatListing).
	repeat atomic.Bool
	key    []byte // HMAC key signing issued access tokens

	mu     sync.Mutex
	counts map[string]int // requests per endpoint name

	feed     feedState     // the Management Activity API side (feed.go)
	identity identityState // the token endpoints side (identity.go)
}

// Option configures a Server.
type Option func(*Server)

// WithClock makes the server read time from c (default: the wall clock).
func WithClock(c clock.Clock) Option { return func(s *Server) { s.clock = c } }

// NewServer starts a plain-HTTP emulator on loopback.
func NewServer(opts ...Option) *Server { return start(false, opts) }

// NewTLSServer starts an HTTPS emulator on loopback with a self-signed
// certificate; Client returns an *http.Client that trusts it.
func NewTLSServer(opts ...Option) *Server { return start(true, opts) }

func build(opts []Option) *Server {
	s := &Server{clock: clock.Real{}, counts: map[string]int{}, mux: http.NewServeMux()}
	s.key = make([]byte, 32)
	_, _ = rand.Read(s.key)
	for _, o := range opts {
		o(s)
	}
	s.initFeed()
	s.initIdentity()
	s.registerFeed(s.mux)
	s.registerIdentity(s.mux)
	return s
}

func start(tls bool, opts []Option) *Server {
	s := build(opts)
	s.srv = httptest.NewUnstartedServer(s.dated(s.mux))
	// Clients that give up mid-handshake (timeouts, closed tests) are
	// expected here; their "TLS handshake error" lines are only noise.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client configured to talk to the server (trusting
// its certificate when it is a TLS server).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// TLSServer returns the underlying httptest.Server, for callers that serve
// its handler and TLS configuration on a listener of their own (the emulator
// command on a fixed port, the bench's quota proxy).
func (s *Server) TLSServer() *httptest.Server { return s.srv }

// BaseURL is the value of the base_url parameter that points at this
// emulator's Management Activity API: URL + "/api/v1.0/".
func (s *Server) BaseURL() string { return s.URL + "/api/v1.0/" }

// Now is the emulator's current time: its clock plus the clock offset.
func (s *Server) Now() time.Time {
	return s.clock.Now().Add(time.Duration(s.offset.Load())).UTC()
}

// count records one request to the named endpoint.
func (s *Server) count(name string) {
	s.mu.Lock()
	s.counts[name]++
	s.mu.Unlock()
}

// Count returns how many requests the named endpoint has served, e.g.
// "token", "subscriptions/list", "subscriptions/content", "blob".
func (s *Server) Count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[name]
}

// tokenClaims are the claims of the access tokens the emulator issues.
type tokenClaims struct {
	TenantID string `json:"tid"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	ID       string `json:"jti"`
	AppID    string `json:"appid,omitempty"`
	Audience string `json:"aud,omitempty"`
}

// IssueToken mints an access token for tenant, valid for ttl from the
// emulator's clock. It is a JWT (HS256 under a per-server key) carrying the
// tid claim, as Entra ID's are, so clients can read the tenant from it.
func (s *Server) IssueToken(tenant string, ttl time.Duration) (token string, expiry time.Time) {
	now := s.Now()
	expiry = now.Add(ttl)
	jti := make([]byte, 8)
	_, _ = rand.Read(jti)
	claims := tokenClaims{TenantID: tenant, Expiry: expiry.Unix(), IssuedAt: now.Unix(), ID: hex.EncodeToString(jti), Audience: "https://manage.office.com"}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(claims)
	signing := header + "." + base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), expiry
}

// errBadToken is returned by authenticate for a missing, forged or expired token.
var errBadToken = errors.New("invalid or expired bearer token")

// authenticate checks the request's bearer token and returns its tenant.
func (s *Server) authenticate(r *http.Request) (tenant string, err error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return "", errBadToken
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errBadToken
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return "", errBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errBadToken
	}
	var c tokenClaims
	if json.Unmarshal(body, &c) != nil || s.Now().Unix() >= c.Expiry {
		return "", errBadToken
	}
	if s.identityRevoked(c.ID) {
		return "", errBadToken
	}
	return c.TenantID, nil
}

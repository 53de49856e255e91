// Package activity is the client of the Office 365 Management Activity API
// ({base_url}{tenant}/activity/feed/...): subscriptions, content listing with
// paging, and parallel streaming download of content blobs into records.
//
// Every request carries the PublisherIdentifier and a bearer token from a
// TokenSource, goes through a client-side rate limiter, and is retried
// on throttling, server errors and connection failures with exponential
// backoff that sleeps through an injected clock.Clock. Error answers become
// *APIError values that keep the HTTP status and the AF code and explain the
// fix to a user.
package activity

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/secops-go/ms-management-activity/internal/catalog"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/httpclient"
	"github.com/secops-go/ms-management-activity/internal/progress"
)

// Defaults and limits of Config.
const (
	DefaultConcurrency       = 8
	MaxConcurrency           = 64
	DefaultMaxBlobBytes      = 64 << 20
	DefaultRequestsPerMinute = 2000
	DefaultMaxAttempts       = 6
	DefaultPublisher         = "ebac1a16-81bf-449b-8d43-5732c3c1d999"

	backoffBase     = 500 * time.Millisecond
	backoffCap      = 8 * time.Second
	retryAfterCap   = 60 * time.Second
	maxErrorBody    = 64 << 10
	timeParamLayout = "2006-01-02T15:04:05"
)

// ContentTypes are the five content types of the API, canonically spelled
// (catalog.ContentTypes).
var ContentTypes = catalog.ContentTypes

// CanonicalContentType returns the canonical spelling of a content type
// given in any case, and false when s is not one of ContentTypes.
func CanonicalContentType(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, ct := range ContentTypes {
		if strings.EqualFold(s, ct) {
			return ct, true
		}
	}
	return "", false
}

// Config configures a Client. Zero values get the defaults above.
type Config struct {
	// BaseURL is the API root, e.g. "https://manage.office.com/api/v1.0/".
	BaseURL string
	// Tenant is used in URLs when the access token carries no tid claim.
	Tenant string
	// PublisherIdentifier is sent on every request, blob GETs included.
	PublisherIdentifier string
	HTTP                *http.Client
	Tokens              TokenSource
	Clock               clock.Clock
	Logger              *slog.Logger
	// Concurrency is the number of blob download workers (1..64).
	Concurrency int
	// MaxBlobBytes caps one blob's body; a larger blob is a *ContentError.
	MaxBlobBytes int64
	// RequestsPerMinute feeds a token bucket whose burst is one minute's
	// quota.
	RequestsPerMinute int
	// MaxAttempts bounds the sends of one request on retryable failures
	// (default 6; a 401 adds one more send after a token refresh).
	MaxAttempts int
	// Jitter returns a random duration in [0, max); nil uses math/rand.
	// Tests make it deterministic.
	Jitter func(max time.Duration) time.Duration
	// Progress is told about listed pages and downloaded blobs (nil: none).
	Progress progress.Reporter
	// Redact removes the run's secrets from text the server sent before it
	// goes into an error (and is possibly cut short later); nil: only the
	// request's own access token is removed.
	Redact func(string) string
}

// Client talks to the Management Activity API. It is safe for concurrent
// use.
type Client struct {
	cfg     Config
	base    *url.URL
	limiter *rate.Limiter
	limMu   sync.Mutex
	gate    *gate
	budget  *budget // bytes downloaded and not yet delivered (budget.go)
	stats   counters
	server  *ServerClock // the API's clock, from Date headers (serverclock.go)
	// maxPageBytes is MaxPageBytes (tests lower it).
	maxPageBytes int64

	// requestTimeout bounds each attempt, body included: the HTTP
	// client's Timeout, applied here as a context deadline (see New).
	requestTimeout time.Duration

	tenantMu    sync.Mutex
	tenantToken string
	tenantID    string
}

type counters struct {
	requests, retries, throttled, refreshes atomic.Int64
}

// Stats are a client's request counters since it was created.
type Stats struct {
	Requests       int64 // requests sent
	Retries        int64 // sends that repeated an earlier one
	Throttled      int64 // answers that were throttling (429 / AF429)
	TokenRefreshes int64 // tokens invalidated after a 401
	Concurrency    int   // current adaptive download concurrency
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("activity: no token source")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("activity: no base URL")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("activity: base URL %q is not a URL", cfg.BaseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	// The bearer token and the PublisherIdentifier go only to base_url's
	// origin, redirects included.
	cfg.HTTP = httpclient.Restrict(cfg.HTTP, u.String())
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Progress == nil {
		cfg.Progress = progress.Nop
	}
	if cfg.PublisherIdentifier == "" {
		cfg.PublisherIdentifier = DefaultPublisher
	}
	switch {
	case cfg.Concurrency <= 0:
		cfg.Concurrency = DefaultConcurrency
	case cfg.Concurrency > MaxConcurrency:
		cfg.Concurrency = MaxConcurrency
	}
	if cfg.MaxBlobBytes <= 0 {
		cfg.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if cfg.RequestsPerMinute <= 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max)
		}
	}
	// The HTTP client's Timeout becomes a per-attempt context deadline
	// that this package checks itself: a timeout is then reported as one
	// whether it hit before the headers or in the middle of the body, and
	// however the transport words it (net/http's own wording depends on a
	// timer goroutine and on the transport's type, so under load a
	// timeout could read as a cut body or as a bare "context deadline
	// exceeded").
	requestTimeout := cfg.HTTP.Timeout
	if requestTimeout > 0 {
		hc := *cfg.HTTP
		hc.Timeout = 0
		cfg.HTTP = &hc
	}
	c := &Client{
		requestTimeout: requestTimeout,
		cfg:            cfg,
		base:           u,
		// The limiter is driven with the injected clock's time (ReserveN),
		// so a fake clock makes throttling tests instant.
		limiter: rate.NewLimiter(rate.Limit(float64(cfg.RequestsPerMinute)/60), cfg.RequestsPerMinute),
		gate:    newGate(cfg.Concurrency),
		budget:  newBudget(cfg.MaxBlobBytes),
		server:  NewServerClock(cfg.Clock),

		maxPageBytes: MaxPageBytes,
	}
	return c, nil
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:       c.stats.requests.Load(),
		Retries:        c.stats.retries.Load(),
		Throttled:      c.stats.throttled.Load(),
		TokenRefreshes: c.stats.refreshes.Load(),
		Concurrency:    c.gate.current(),
	}
}

// url builds the request URL for this attempt (the tenant comes from the
// token, which may have changed after a refresh).
func (c *Client) url(cl *call, token string) (string, error) {
	if cl.url != "" {
		u, err := url.Parse(cl.url)
		if err != nil {
			return "", fmt.Errorf("%s: the API returned an unusable URL %q: %w", cl.op, cl.url, err)
		}
		// The bearer token goes only to base_url's origin.
		if got, want := httpclient.Origin(u), httpclient.Origin(c.base); got != want {
			return "", fmt.Errorf("%s: the API returned a URL on another origin (%s, expected %s); not sending the access token there", cl.op, got, want)
		}
		q := u.Query()
		if !hasParam(q, "PublisherIdentifier") {
			q.Set("PublisherIdentifier", c.cfg.PublisherIdentifier)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	tenant := c.tenant(token)
	if tenant == "" {
		return "", fmt.Errorf("%s: no tenant: the access token has no tid claim and no tenant ID is configured (\"Token or Tenant ID\" parameter)", cl.op)
	}
	u := *c.base
	u.Path = c.base.Path + url.PathEscape(tenant) + "/activity/feed/" + cl.path
	q := url.Values{}
	for k, v := range cl.query {
		q[k] = v
	}
	q.Set("PublisherIdentifier", c.cfg.PublisherIdentifier)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func hasParam(q url.Values, name string) bool {
	for k := range q {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// tenant returns the token's tid claim, else the configured tenant.
func (c *Client) tenant(token string) string {
	c.tenantMu.Lock()
	defer c.tenantMu.Unlock()
	if token != c.tenantToken {
		c.tenantToken = token
		c.tenantID, _ = TenantFromToken(token)
	}
	if c.tenantID != "" {
		return c.tenantID
	}
	return c.cfg.Tenant
}

// FormatTime formats a time as the API's startTime/endTime (UTC, seconds).
func FormatTime(t time.Time) string { return t.UTC().Format(timeParamLayout) }

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
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/secops-go/ms-management-activity/internal/catalog"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/httpclient"
	"github.com/secops-go/ms-management-activity/internal/progress"
	"github.com/secops-go/ms-management-activity/internal/redact"
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

// call describes one logical request.
type call struct {
	op          string // for messages: "list content", "download blob"
	contentType string
	method      string
	// Either path (relative to {base}{tenant}/activity/feed/) with query,
	// or an absolute url (next page, content URI).
	path  string
	query url.Values
	url   string
	// gated requests count against the adaptive download concurrency.
	gated bool
	// head, when set, reports that this download is the next one to be
	// delivered: it passes the gate even when the gate is full, since the
	// others may be waiting for the in-flight budget until it is delivered.
	head func() bool
}

// readError is a failure to read a response body: a transport problem,
// retryable like a failed send.
type readError struct{ err error }

func (e *readError) Error() string { return "reading the response: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// do sends the call, retrying as the package doc says, and hands a 2xx
// response to onOK, whose error is retried when it is a read error or a
// *ContentError of a truncated body.
func (c *Client) do(ctx context.Context, cl *call, onOK func(*http.Response) error) error {
	refreshed := false
	var last error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.stats.retries.Add(1)
		}
		wait, unauthorized, err := c.once(httpclient.WithAttempt(ctx, attempt), cl, onOK)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// The attempt cut short by the deadline says less than the
			// failure that led to it.
			if last == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
				last = err
			}
			return deadlineError(ctx, cl, attempt, last)
		}
		last = err
		if unauthorized && !refreshed {
			// The token may have expired mid-run: ask for a fresh one once.
			refreshed = true
			attempt--
			c.stats.refreshes.Add(1)
			c.cfg.Tokens.Invalidate()
			c.cfg.Logger.Debug("HTTP 401, retrying with a new token", "op", cl.op)
			continue
		}
		if !retryable(err) || attempt >= c.cfg.MaxAttempts {
			c.cfg.Logger.Debug("not retrying", "op", cl.op, "attempt", attempt, "retryable", retryable(err), "max_attempts", c.cfg.MaxAttempts, "error", err.Error())
			var ae *APIError
			if errors.As(err, &ae) {
				ae.Attempts = attempt
			} else if te := (*tokenError)(nil); !errors.As(err, &te) {
				// Say which request failed; an APIError and a token
				// failure already do.
				what := cl.op
				if cl.contentType != "" {
					what += " " + cl.contentType
				}
				// Some errors (a body that does not decode) already start
				// with the request's name: say it once.
				named := strings.HasPrefix(err.Error(), cl.op)
				switch {
				case named && attempt > 1:
					err = fmt.Errorf("%w (after %d attempts)", err, attempt)
				case named:
				case attempt > 1:
					err = fmt.Errorf("%s: %w (after %d attempts)", what, err, attempt)
				default:
					err = fmt.Errorf("%s: %w", what, err)
				}
			}
			return err
		}
		if wait < 0 {
			wait = c.backoff(attempt)
		}
		c.cfg.Logger.Debug("retrying", "op", cl.op, "attempt", attempt, "wait", wait, "error", err)
		if err := c.cfg.Clock.Sleep(ctx, wait); err != nil {
			return deadlineError(ctx, cl, attempt, last)
		}
	}
}

func deadlineError(ctx context.Context, cl *call, attempts int, last error) error {
	what := "was canceled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		what = "ran out of time (the command's overall deadline passed; raise the timeout argument or narrow the time range)"
	}
	return fmt.Errorf("%s %s after %d attempt(s); last error: %w", cl.op, what, attempts, last)
}

// retryable classifies an attempt's error.
func retryable(err error) bool {
	var rt *RequestTimeoutError
	if errors.As(err, &rt) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.retryable()
	}
	var ce *ContentError
	if errors.As(err, &ce) {
		return ce.Truncated
	}
	var te *tokenError
	if errors.As(err, &te) {
		return false
	}
	return transportRetryable(err)
}

// backoff is 0.5 s doubling per attempt, capped at 8 s, with "equal
// jitter": half fixed, half random, so parallel workers spread out.
func (c *Client) backoff(attempt int) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffCap || d <= 0 {
		d = backoffCap
	}
	return d/2 + c.cfg.Jitter(d/2)
}

// tokenError is a failure of the token source: not retried here (the token
// source has its own policy), reported as an authentication failure.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "getting an access token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// once sends the call one time. wait is the server's Retry-After (or -1).
func (c *Client) once(ctx context.Context, cl *call, onOK func(*http.Response) error) (wait time.Duration, unauthorized bool, err error) {
	wait = -1
	if err := c.rateWait(ctx); err != nil {
		return wait, false, err
	}
	token, err := c.cfg.Tokens.Token(ctx)
	if err != nil {
		return wait, false, &tokenError{err}
	}
	u, err := c.url(cl, token)
	if err != nil {
		return wait, false, err
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, nil)
	if err != nil {
		return wait, false, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	// Decoded here, not by the transport, so every size cap counts the
	// decoded bytes and says so.
	req.Header.Set("Accept-Encoding", "gzip")
	if cl.method == http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.gated {
		if err := c.gate.acquire(ctx, cl.head); err != nil {
			return wait, false, err
		}
		defer c.gate.release()
	}
	// The attempt's deadline starts once it may send (after the rate
	// limit and the download gate) and covers reading the body.
	attemptCtx := ctx
	if c.requestTimeout > 0 {
		var cancel context.CancelFunc
		attemptCtx, cancel = context.WithTimeout(ctx, c.requestTimeout)
		defer cancel() // after the body is drained and closed (deferred below)
		req = req.WithContext(attemptCtx)
	}
	// timedOut reports a failure of this attempt as the timeout it is when
	// the attempt's deadline passed while the command's did not, whatever
	// error the transport or the body decoding saw.
	timedOut := func(err error) error {
		if c.requestTimeout > 0 && ctx.Err() == nil && errors.Is(attemptCtx.Err(), context.DeadlineExceeded) {
			return &RequestTimeoutError{Timeout: c.requestTimeout, Err: err}
		}
		return err
	}
	c.stats.requests.Add(1)
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return wait, false, timedOut(stripURL(err))
	}
	c.server.observe(resp.Header)
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
	}()
	if err := decodeBody(resp); err != nil {
		return wait, false, timedOut(err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := onOK(resp); err != nil {
			return wait, false, timedOut(err)
		}
		if cl.gated {
			c.gate.success()
		}
		return wait, false, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// An error answer may echo the request (its Authorization header
	// included): redacted here, before the message is ever cut.
	body = c.scrub(body, token)
	ae := parseAPIError(cl.op, cl.contentType, resp.StatusCode, body)
	if ae.throttled() {
		c.stats.throttled.Add(1)
		c.gate.throttle()
	}
	// An HTTP-date Retry-After is on the server's clock (serverclock.go).
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.server.Now()); ok {
		wait = ra
	}
	return wait, resp.StatusCode == http.StatusUnauthorized, ae
}

// RequestTimeoutError is an attempt that got no complete answer within the
// request timeout (the timeout parameter or argument): retried, and
// reported as a timeout even when it hit in the middle of the body.
type RequestTimeoutError struct {
	Timeout time.Duration
	// Err is what the transport or the decoding saw when the deadline
	// hit. It is not unwrapped: a body cut by the deadline is not a
	// malformed blob (which could be skipped), it is a timeout.
	Err error
}

func (e *RequestTimeoutError) Error() string {
	return fmt.Sprintf("no complete answer within the request timeout of %s (the timeout parameter; raise it if the tenant or the network is slow)", e.Timeout)
}

// scrub removes the request's token and the run's secrets from b.
func (c *Client) scrub(b []byte, token string) []byte {
	var s redact.Set
	s.Add(token)
	b = s.Bytes(b)
	if c.cfg.Redact != nil {
		b = []byte(c.cfg.Redact(string(b)))
	}
	return b
}

// decodeBody replaces resp.Body by its decoded form (Content-Encoding gzip
// or deflate), so that what callers read and cap is what they parse.
func decodeBody(resp *http.Response) error {
	var dec io.ReadCloser
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return &readError{fmt.Errorf("the gzip-encoded body does not start as gzip: %w", err)}
		}
		dec = zr
	case "deflate":
		zr, err := zlib.NewReader(resp.Body)
		if err != nil {
			return &readError{fmt.Errorf("the deflate-encoded body does not start as zlib: %w", err)}
		}
		dec = zr
	default:
		return fmt.Errorf("the server answered with Content-Encoding %q, which this client does not decode", enc)
	}
	resp.Body = &decodedBody{dec: dec, raw: resp.Body}
	resp.ContentLength = -1 // the length on the wire is not the decoded one
	resp.Uncompressed = true
	return nil
}

type decodedBody struct {
	dec io.ReadCloser
	raw io.ReadCloser
}

func (b *decodedBody) Read(p []byte) (int, error) { return b.dec.Read(p) }
func (b *decodedBody) Close() error {
	b.dec.Close()
	return b.raw.Close()
}

// stripURL drops the URL from a *url.Error: it holds the PublisherIdentifier
// and content IDs, which make messages long without helping.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request failed: %w", ue.Op, ue.Err)
	}
	return err
}

// rateWait takes one token from the bucket, sleeping through the clock.
func (c *Client) rateWait(ctx context.Context) error {
	c.limMu.Lock()
	now := c.cfg.Clock.Now()
	r := c.limiter.ReserveN(now, 1)
	d := r.DelayFrom(now)
	c.limMu.Unlock()
	if d <= 0 {
		return nil
	}
	if err := c.cfg.Clock.Sleep(ctx, d); err != nil {
		r.CancelAt(c.cfg.Clock.Now())
		return err
	}
	return nil
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date, capped.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		d = time.Duration(n * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	if d > retryAfterCap {
		d = retryAfterCap
	}
	return d, true
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

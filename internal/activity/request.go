package activity

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/internal/httpclient"
	"github.com/secops-go/ms-management-activity/internal/redact"
)

// One request to the API, from the first attempt to the last: retries with
// back-off and Retry-After, the token refresh on 401, the rate limit, the
// decoded-size caps and the scrubbing of error answers.

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
	var pe *permanentError
	if errors.As(err, &te) || errors.As(err, &pe) {
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

package httpclient

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what a logging client sent and received, for the command's
// summary line.
type Stats struct {
	requests, errorStatus, noAnswer, bytes atomic.Int64
}

// StatsSnapshot is a copy of Stats at one moment.
type StatsSnapshot struct {
	Requests    int64 // requests sent
	ErrorStatus int64 // answers with an error status (4xx, 5xx), retried or not
	NoAnswer    int64 // requests with no answer (connection, TLS, timeout)
	Bytes       int64 // response body bytes read
}

// Snapshot returns the counters so far (zero for a nil Stats).
func (s *Stats) Snapshot() StatsSnapshot {
	if s == nil {
		return StatsSnapshot{}
	}
	return StatsSnapshot{Requests: s.requests.Load(), ErrorStatus: s.errorStatus.Load(), NoAnswer: s.noAnswer.Load(), Bytes: s.bytes.Load()}
}

type attemptKey struct{}

// WithAttempt marks the requests made with ctx as attempt n of their call,
// for the request log line; a request without a mark is attempt 1.
func WithAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

func attemptOf(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}

// WithLogging returns a copy of c whose requests are counted in stats (nil:
// not counted) and, when logger is enabled at debug level, each logged in
// one line once its body is read or closed ("HTTP request": method, URL
// without secret query values, status, bytes, duration, attempt; or the
// error when there was no response). Durations are wall time: they
// measure, they decide nothing.
func WithLogging(c *http.Client, logger *slog.Logger, stats *Stats) *http.Client {
	out := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = &loggingTransport{next: next, logger: logger, stats: stats}
	return &out
}

type loggingTransport struct {
	next   http.RoundTripper
	logger *slog.Logger
	stats  *Stats
}

func (t *loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	debug := t.logger != nil && t.logger.Enabled(req.Context(), slog.LevelDebug)
	if t.stats != nil {
		t.stats.requests.Add(1)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		if t.stats != nil {
			t.stats.noAnswer.Add(1)
		}
		if debug {
			t.logger.LogAttrs(req.Context(), slog.LevelDebug, "HTTP request",
				slog.String("method", req.Method), slog.String("url", LogURL(req.URL)),
				slog.Duration("duration", time.Since(start)), slog.Int("attempt", attemptOf(req.Context())),
				slog.String("error", err.Error()))
		}
		return nil, err
	}
	if t.stats != nil && resp.StatusCode >= 400 {
		t.stats.errorStatus.Add(1)
	}
	if !debug && t.stats == nil {
		return resp, nil
	}
	resp.Body = &loggedBody{ReadCloser: resp.Body, t: t, req: req, status: resp.StatusCode, start: start, debug: debug}
	return resp, nil
}

// loggedBody counts the bytes read and logs the request once, at EOF, at a
// read error or at Close, whichever comes first.
type loggedBody struct {
	io.ReadCloser
	t      *loggingTransport
	req    *http.Request
	status int
	start  time.Time
	debug  bool
	n      int64
	once   sync.Once
}

func (b *loggedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if b.t.stats != nil {
		b.t.stats.bytes.Add(int64(n))
	}
	if err != nil {
		b.done(err)
	}
	return n, err
}

func (b *loggedBody) Close() error {
	err := b.ReadCloser.Close()
	b.done(nil)
	return err
}

func (b *loggedBody) done(readErr error) {
	b.once.Do(func() {
		if !b.debug {
			return
		}
		attrs := []slog.Attr{
			slog.String("method", b.req.Method), slog.String("url", LogURL(b.req.URL)),
			slog.Int("status", b.status), slog.Int64("bytes", b.n),
			slog.Duration("duration", time.Since(b.start)), slog.Int("attempt", attemptOf(b.req.Context())),
		}
		if readErr != nil && readErr != io.EOF {
			attrs = append(attrs, slog.String("error", readErr.Error()))
		}
		b.t.logger.LogAttrs(b.req.Context(), slog.LevelDebug, "HTTP request", attrs...)
	})
}

// secretQuery are query parameters that carry credentials in some flows
// (authorization codes, signatures, tokens); their values never reach a
// log line.
var secretQuery = []string{"code", "client_secret", "client_assertion", "assertion", "access_token", "refresh_token",
	"id_token", "token", "sig", "signature", "password", "key", "code_verifier"}

// LogURL is u for a log line: no user info, and the values of
// secret-bearing query parameters replaced by [REDACTED]. The run's
// redacting log handler still hides any other known secret.
func LogURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.ForceQuery = false
	if c.RawQuery != "" {
		q := c.Query()
		for name := range q {
			for _, s := range secretQuery {
				if strings.EqualFold(name, s) {
					q[name] = []string{"[REDACTED]"}
				}
			}
		}
		c.RawQuery = strings.ReplaceAll(q.Encode(), "%5BREDACTED%5D", "[REDACTED]")
	}
	return c.String()
}

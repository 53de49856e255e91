package emulator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Fault is a failure the emulator injects into one Management Activity API
// response. Build one with the variables and constructors below.
type Fault struct {
	kind       faultKind
	status     int
	retryAfter time.Duration
	// retryAfterDate sends Retry-After as an HTTP date (the emulator's
	// Date plus retryAfter) instead of seconds.
	retryAfterDate bool
	delay          time.Duration
}

type faultKind int

const (
	kindThrottle      faultKind = iota + 1 // AF429 with status (429 or 403), optional Retry-After
	kindStatus                             // bare status, gateway-style text body
	kindAF50000                            // 500 AF50000
	kindNonJSON                            // 400 with an HTML body
	kindExpiredToken                       // 401
	kindSlow                               // sleep, then the normal response
	kindReset                              // headers and half the body, then a TCP reset
	kindStall                              // headers and half the body, then nothing until the client gives up
	kindTruncated                          // 200 with the body cut in half (invalid JSON)
	kindNotArray                           // 200 with a JSON object instead of an array
	kindWindowRefused                      // 400 AF20055, as for a listing window the API's clock finds too old
)

var (
	// ThrottleAF429 answers HTTP 403 with an AF429 body, the way the
	// troubleshooting guide shows throttling arriving.
	ThrottleAF429 = Fault{kind: kindThrottle, status: http.StatusForbidden}
	// InternalError answers HTTP 500 with an AF50000 body.
	InternalError = Fault{kind: kindAF50000}
	// NonJSONError answers HTTP 400 with an HTML body, like the garbage
	// error bodies reported in MicrosoftDocs issue #52.
	NonJSONError = Fault{kind: kindNonJSON}
	// ExpiredToken answers HTTP 401 as for an expired access token.
	ExpiredToken = Fault{kind: kindExpiredToken}
	// ResetMidBody sends the status line, headers (with the full
	// Content-Length) and half the body, then resets the connection.
	ResetMidBody = Fault{kind: kindReset}
	// TruncatedJSON answers 200 with only the first half of the real body,
	// so a blob (or listing) is not valid JSON.
	TruncatedJSON = Fault{kind: kindTruncated}
	// NotArray answers 200 with valid JSON that is an object wrapping the
	// real body instead of an array.
	NotArray = Fault{kind: kindNotArray}
	// WindowRefused answers HTTP 400 AF20055, the API's answer to a listing
	// whose start is more than 7 days back by its own clock.
	WindowRefused = Fault{kind: kindWindowRefused}
)

// Throttle answers HTTP 429 with an AF429 body and, when retryAfter > 0, a
// Retry-After header in whole seconds (rounded up).
func Throttle(retryAfter time.Duration) Fault {
	return Fault{kind: kindThrottle, status: http.StatusTooManyRequests, retryAfter: retryAfter}
}

// ThrottleUntil answers HTTP 429 with an AF429 body and a Retry-After
// header in its HTTP-date form: the emulator's time plus d, so only a
// client that reads it against the server's clock waits d.
func ThrottleUntil(d time.Duration) Fault {
	return Fault{kind: kindThrottle, status: http.StatusTooManyRequests, retryAfter: d, retryAfterDate: true}
}

// Status answers the given HTTP status (e.g. 500, 502, 503, 504) with a
// plain-text body, as a gateway in front of the API would.
func Status(code int) Fault { return Fault{kind: kindStatus, status: code} }

// Slow delays the response by d of real time (meant to exceed the client's
// timeout), then answers normally. The wait ends early when the client gives
// up (the request's context is cancelled).
func Slow(d time.Duration) Fault { return Fault{kind: kindSlow, delay: d} }

// StallMidBody answers 200 with the full Content-Length and half the body,
// then sends nothing more until the client gives up: a timeout that hits
// while the body is being read.
var StallMidBody = Fault{kind: kindStall}

// String names the fault, for test names and logs.
func (f Fault) String() string {
	switch f.kind {
	case kindThrottle:
		if f.retryAfter > 0 {
			return fmt.Sprintf("AF429/%d retry-after %s", f.status, f.retryAfter)
		}
		return fmt.Sprintf("AF429/%d", f.status)
	case kindStatus:
		return fmt.Sprintf("HTTP %d", f.status)
	case kindAF50000:
		return "AF50000"
	case kindNonJSON:
		return "non-JSON error"
	case kindExpiredToken:
		return "expired token"
	case kindSlow:
		return fmt.Sprintf("slow %s", f.delay)
	case kindReset:
		return "reset mid-body"
	case kindStall:
		return "stall mid-body"
	case kindTruncated:
		return "truncated JSON"
	case kindNotArray:
		return "not an array"
	case kindWindowRefused:
		return "AF20055"
	}
	return "no fault"
}

// faultState is the fault configuration; guarded by feedState.mu.
type faultState struct {
	latency  time.Duration
	queued   map[string][]Fault // by endpoint name, "*" for any
	rnd      *rand.Rand
	rate     float64
	kinds    []Fault
	injected int
}

// SetLatency adds d of real time (time.Sleep, not the emulator clock) to
// every Management Activity API response, for benchmarks. 0 removes it.
func (s *Server) SetLatency(d time.Duration) {
	s.feed.mu.Lock()
	s.feed.faults.latency = d
	s.feed.mu.Unlock()
}

// FailNext makes the next n requests to endpoint answer with f. endpoint is
// a Count name ("subscriptions/start", "subscriptions/stop",
// "subscriptions/list", "subscriptions/content", "blob") or "*" for any of
// them. Calls queue up in order; faults apply to authenticated requests only.
func (s *Server) FailNext(endpoint string, n int, f Fault) {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if s.feed.faults.queued == nil {
		s.feed.faults.queued = map[string][]Fault{}
	}
	for range n {
		s.feed.faults.queued[endpoint] = append(s.feed.faults.queued[endpoint], f)
	}
}

// SetRandomFaults makes each authenticated request fail, with probability
// rate, with one of kinds chosen at random; the draws come from seed, so a
// sequential client sees the same faults every run. Queued FailNext faults
// take precedence. rate 0 (or no kinds) turns random faults off.
func (s *Server) SetRandomFaults(seed int64, rate float64, kinds ...Fault) {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.feed.faults.rnd = rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	s.feed.faults.rate = rate
	s.feed.faults.kinds = append([]Fault(nil), kinds...)
}

// ClearFaults removes latency, queued and random faults and the paging loop.
func (s *Server) ClearFaults() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	injected := s.feed.faults.injected
	s.feed.faults = faultState{injected: injected}
	s.feed.pagingLoop = false
}

// faultsInjected returns how many faults have been injected so far.
func (s *Server) faultsInjected() int {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.feed.faults.injected
}

// SetPageSize sets how many blobs a content listing page holds (default 200).
func (s *Server) SetPageSize(n int) {
	if n < 1 {
		n = 1
	}
	s.feed.mu.Lock()
	s.feed.pageSize = n
	s.feed.mu.Unlock()
}

// SetPagingLoop makes content listings with more than one page send, from
// the second page on, a NextPageUri leading back to the first page, so a
// client that trusts NextPageUri blindly never finishes.
func (s *Server) SetPagingLoop(on bool) {
	s.feed.mu.Lock()
	s.feed.pagingLoop = on
	s.feed.mu.Unlock()
}

// ExpireNextPages makes every nextPage token issued so far stale (AF20031).
func (s *Server) ExpireNextPages() {
	s.feed.mu.Lock()
	s.feed.pageEpoch++
	s.feed.mu.Unlock()
}

// nextFault pops the fault for this request, if any, and the latency.
func (s *Server) nextFault(endpoint string) (f Fault, latency time.Duration) {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	fs := &s.feed.faults
	latency = fs.latency
	for _, key := range []string{endpoint, "*"} {
		if q := fs.queued[key]; len(q) > 0 {
			fs.queued[key] = q[1:]
			fs.injected++
			return q[0], latency
		}
	}
	if fs.rnd != nil && fs.rate > 0 && len(fs.kinds) > 0 && fs.rnd.Float64() < fs.rate {
		fs.injected++
		return fs.kinds[fs.rnd.IntN(len(fs.kinds))], latency
	}
	return Fault{}, latency
}

// sleepCtx sleeps d of real time or until ctx ends; it reports whether the
// full time elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// before applies the faults that replace the response; it reports whether it
// answered (or the client went away), in which case the handler must not run.
func (f Fault) before(w http.ResponseWriter, r *http.Request, method string) bool {
	switch f.kind {
	case kindThrottle:
		if date, err := http.ParseTime(w.Header().Get("Date")); err == nil && f.retryAfterDate {
			w.Header().Set("Retry-After", date.Add(f.retryAfter).Format(http.TimeFormat))
		} else if f.retryAfter > 0 {
			secs := int((f.retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		writeAFError(w, f.status, "AF429", fmt.Sprintf("Too many requests. Method=%s, PublisherId=%s", method, publisherID(r)))
	case kindStatus:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, "%d %s\n", f.status, http.StatusText(f.status))
	case kindAF50000:
		writeAFError(w, http.StatusInternalServerError, "AF50000", "An internal error occurred. Retry the request.")
	case kindNonJSON:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("<html><head><title>Bad Request</title></head><body><h2>Bad Request - Invalid URL</h2><hr><p>HTTP Error 400. The request URL is invalid.</p></body></html>"))
	case kindExpiredToken:
		writeUnauthorized(w, `error="invalid_token", error_description="The access token is expired"`)
	case kindWindowRefused:
		writeAFError(w, http.StatusBadRequest, "AF20055", windowRule+", and the start time before the end time.")
	case kindSlow:
		return !sleepCtx(r.Context(), f.delay)
	default:
		return false
	}
	return true
}

// write sends resp, mangled by f when f alters bodies; ctx is the
// request's.
func (f Fault) write(ctx context.Context, w http.ResponseWriter, resp *response) {
	switch f.kind {
	case kindStall:
		for k, v := range resp.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(resp.body[:len(resp.body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		<-ctx.Done()
		panic(http.ErrAbortHandler) // never complete the promised body

	case kindTruncated:
		resp.status = http.StatusOK
		resp.body = resp.body[:len(resp.body)/2]
	case kindNotArray:
		resp.status = http.StatusOK
		resp.body = append(append([]byte(`{"value":`), resp.body...), '}')
	case kindReset:
		resetMidBody(w, resp)
		return
	}
	resp.writeTo(w)
}

// resetMidBody writes the headers (promising the full body) and half the
// body, then closes the connection with SO_LINGER 0 so the client sees a
// reset. Without hijacking (HTTP/2) it aborts the handler instead.
func resetMidBody(w http.ResponseWriter, resp *response) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		abortMidBody(w, resp)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		abortMidBody(w, resp)
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
	resp.header.Set("Content-Length", strconv.Itoa(len(resp.body)))
	_ = resp.header.Write(buf)
	buf.WriteString("\r\n")
	buf.Write(resp.body[:len(resp.body)/2])
	_ = buf.Flush()
	type netConner interface{ NetConn() net.Conn }
	raw := conn
	if nc, ok := conn.(netConner); ok { // *tls.Conn
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

func abortMidBody(w http.ResponseWriter, resp *response) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body[:len(resp.body)/2])
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler)
}

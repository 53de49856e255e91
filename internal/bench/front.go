package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// front serves the emulator's handler on its own loopback listener, so it
// can count blob bytes and, for the quota run, enforce a tenant quota.
type front struct {
	emu       *emulator.Server
	hs        *http.Server
	url       string
	tls       bool
	blobBytes atomic.Int64
	throttled atomic.Int64
	served    atomic.Int64

	mu          sync.Mutex
	quota       *rate.Limiter
	quotaStatus int
}

func newFront(useTLS bool) (*front, error) {
	f := &front{tls: useTLS}
	if useTLS {
		f.emu = emulator.NewTLSServer()
	} else {
		f.emu = emulator.NewServer()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.emu.Close()
		return nil, err
	}
	inner := f.emu.TLSServer().Config.Handler
	f.hs = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/activity/feed/") {
			f.served.Add(1)
			f.mu.Lock()
			q, status := f.quota, f.quotaStatus
			f.mu.Unlock()
			if q != nil && !q.Allow() {
				f.throttled.Add(1)
				if status == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "1")
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"error":{"code":"AF429","message":"Too many requests. Method=GetBlob, PublisherId=%s"}}`, r.URL.Query().Get("PublisherIdentifier"))
				return
			}
			if strings.Contains(r.URL.Path, "/activity/feed/audit/") {
				cw := &countingWriter{ResponseWriter: w}
				inner.ServeHTTP(cw, r)
				f.blobBytes.Add(cw.n)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	scheme := "http"
	var l net.Listener = ln
	if useTLS {
		scheme = "https"
		l = tls.NewListener(ln, f.emu.TLSServer().TLS.Clone())
	}
	go func() { _ = f.hs.Serve(l) }()
	f.url = scheme + "://" + ln.Addr().String()
	return f, nil
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (f *front) close() {
	_ = f.hs.Close()
	f.emu.Close()
}

func (f *front) setQuota(perMinute, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if perMinute <= 0 {
		f.quota = nil
		return
	}
	perSec := float64(perMinute) / 60
	// A strict server: the per-minute quota is enforced as a token bucket
	// holding one second's worth, so a client must stay near the rate.
	f.quota = rate.NewLimiter(rate.Limit(perSec), max(1, int(perSec)))
	f.quotaStatus = status
	f.throttled.Store(0)
}

// params are the instance params of the oproxy flow against the front.
func (f *front) params(tenantID string) map[string]any {
	p := f.emu.OproxyParams(tenantID)
	p["base_url"] = f.url + "/api/v1.0/"
	if f.tls {
		p["insecure"] = true
	}
	return p
}

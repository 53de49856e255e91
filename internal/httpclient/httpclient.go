// Package httpclient builds the one HTTP client every outbound call uses (the
// API, the token endpoints, the oproxy broker), with the instance's TLS and
// proxy semantics.
package httpclient

import (
	"crypto/tls"
	"net/http"
	"time"
)

// Options are the instance settings that shape the client.
type Options struct {
	// Timeout bounds one request, body included (0 = none).
	Timeout time.Duration
	// Insecure skips TLS certificate verification ("Trust any certificate").
	Insecure bool
	// Proxy uses HTTP(S)_PROXY/NO_PROXY from the environment ("Use system
	// proxy settings"); when false, the environment's proxy is ignored.
	Proxy bool
	// MaxConnsPerHost bounds parallel connections (0 = 64).
	MaxConnsPerHost int
}

// New returns a client with TLS ≥ 1.2, verification unless Insecure, the
// environment's proxy only when Proxy is set, and redirects followed only
// within the request's origin (SameOrigin).
func New(o Options) *http.Client {
	return &http.Client{Timeout: o.Timeout, Transport: NewTransport(o), CheckRedirect: SameOrigin}
}

// NewTransport returns the transport of New, for callers that wrap it.
func NewTransport(o Options) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	if o.Proxy {
		t.Proxy = http.ProxyFromEnvironment
	}
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // only when the user set insecure
	n := o.MaxConnsPerHost
	if n <= 0 {
		n = 64
	}
	t.MaxIdleConnsPerHost = n
	t.MaxConnsPerHost = n
	return t
}

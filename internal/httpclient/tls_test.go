package httpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

// TestVerifiesCertificatesByDefault: a self-signed server is refused with an
// x509 error unless Insecure is set.
func TestVerifiesCertificatesByDefault(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(ok))
	defer srv.Close()

	_, err := New(Options{Timeout: 5 * time.Second}).Get(srv.URL)
	var unknown x509.UnknownAuthorityError
	var verr *tls.CertificateVerificationError
	if err == nil || !errors.As(err, &verr) || !errors.As(err, &unknown) {
		t.Fatalf("GET of a self-signed server: err = %v, want an x509 unknown-authority error", err)
	}
	if !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Errorf("error %q does not name the x509 cause", err)
	}

	resp, err := New(Options{Timeout: 5 * time.Second, Insecure: true}).Get(srv.URL)
	if err != nil {
		t.Fatalf("insecure GET of a self-signed server: %v", err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("connection state %+v: want TLS ≥ 1.2", resp.TLS)
	}
}

// TestMinimumTLS12: a server that speaks at most TLS 1.1 is refused even
// with Insecure; a client allowing TLS 1.0 (the control) reaches it, so the
// refusal is the version floor and not a broken server.
func TestMinimumTLS12(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	srv.StartTLS()
	defer srv.Close()

	for _, insecure := range []bool{false, true} {
		_, err := New(Options{Timeout: 5 * time.Second, Insecure: insecure}).Get(srv.URL)
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("insecure=%v: GET of a TLS 1.1 server: err = %v, want a protocol version error", insecure, err)
		}
	}

	control := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS10, InsecureSkipVerify: true}, //nolint:gosec // test control
	}}
	resp, err := control.Get(srv.URL)
	if err != nil {
		t.Skipf("this Go cannot speak TLS 1.1 even when asked to (%v); the floor is still enforced by MinVersion", err)
	}
	resp.Body.Close()
	if resp.TLS.Version != tls.VersionTLS11 {
		t.Errorf("control connection used %x, want TLS 1.1", resp.TLS.Version)
	}
}

func TestTransportSettings(t *testing.T) {
	tr := NewTransport(Options{})
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 || tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("TLS config = %+v: want MinVersion 1.2 and verification", tr.TLSClientConfig)
	}
	if tr.Proxy != nil {
		t.Error("Proxy is set although Options.Proxy is false")
	}
	if tr.MaxConnsPerHost != 64 || tr.MaxIdleConnsPerHost != 64 {
		t.Errorf("MaxConnsPerHost = %d, MaxIdleConnsPerHost = %d, want 64", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost)
	}
	if tr := NewTransport(Options{MaxConnsPerHost: 3}); tr.MaxConnsPerHost != 3 {
		t.Errorf("MaxConnsPerHost = %d, want 3", tr.MaxConnsPerHost)
	}
	if c := New(Options{Timeout: 7 * time.Second}); c.Timeout != 7*time.Second {
		t.Errorf("client timeout = %v", c.Timeout)
	}
}

// TestTimeout: a server slower than the timeout fails the request.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	_, err := New(Options{Timeout: 100 * time.Millisecond}).Get(srv.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// proxyHost is the name the proxy tests give the target server. Go never
// proxies loopback destinations (localhost, 127.0.0.0/8, ::1), so the target
// must be addressed by another name; both the proxy and the direct dialer
// resolve it to 127.0.0.1 themselves.
const proxyHost = "localtest.invalid"

// countingProxy is a forward proxy on loopback that counts requests: plain
// HTTP requests in absolute form, and CONNECT tunnels (HTTPS).
type countingProxy struct {
	*httptest.Server
	plain, connect atomic.Int64
	mu             sync.Mutex
	hosts          []string
}

func newCountingProxy(t *testing.T) *countingProxy {
	p := &countingProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hosts = append(p.hosts, r.Host)
		p.mu.Unlock()
		if r.Method == http.MethodConnect {
			p.connect.Add(1)
			up, err := net.Dial("tcp", resolveLocaltest(r.Host))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusOK)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				up.Close()
				return
			}
			go func() { _, _ = io.Copy(up, buf); up.Close() }()
			_, _ = io.Copy(conn, up)
			conn.Close()
			return
		}
		p.plain.Add(1)
		out, _ := http.NewRequest(r.Method, r.URL.String(), r.Body)
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, resolveLocaltest(addr))
		}}
		defer tr.CloseIdleConnections()
		resp, err := tr.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("X-Via-Test-Proxy", "1")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.Close)
	return p
}

func resolveLocaltest(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && host == proxyHost {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// TestProxySemantics: with Proxy set, HTTP_PROXY / HTTPS_PROXY from the
// environment carry the request; without it they are ignored even when set.
//
// net/http reads the proxy environment once per process
// (http.ProxyFromEnvironment caches it), so each case runs in a fresh
// process: this test binary re-executed with the environment of the case.
func TestProxySemantics(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	proxy := newCountingProxy(t)
	plainTarget := httptest.NewServer(http.HandlerFunc(ok))
	defer plainTarget.Close()
	tlsTarget := httptest.NewTLSServer(http.HandlerFunc(ok))
	defer tlsTarget.Close()
	byName := func(u string) string {
		pu, _ := url.Parse(u)
		pu.Host = net.JoinHostPort(proxyHost, pu.Port())
		return pu.String()
	}

	tests := []struct {
		name         string
		target       string
		useProxy     bool
		wantPlain    int64
		wantConnect  int64
		wantViaProxy bool
	}{
		{"http, proxy on", byName(plainTarget.URL), true, 1, 0, true},
		{"http, proxy off", byName(plainTarget.URL), false, 0, 0, false},
		{"https, proxy on", byName(tlsTarget.URL), true, 0, 1, false},
		{"https, proxy off", byName(tlsTarget.URL), false, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain0, connect0 := proxy.plain.Load(), proxy.connect.Load()
			cmd := exec.Command(os.Args[0], "-test.run=^TestProxyHelperProcess$", "-test.v")
			cmd.Env = append(os.Environ(),
				"HTTPCLIENT_PROXY_HELPER=1",
				"HTTPCLIENT_TARGET="+tc.target,
				fmt.Sprintf("HTTPCLIENT_USE_PROXY=%v", tc.useProxy),
				"HTTP_PROXY="+proxy.URL, "HTTPS_PROXY="+proxy.URL,
				"http_proxy="+proxy.URL, "https_proxy="+proxy.URL,
				"NO_PROXY=", "no_proxy=",
			)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			line := helperResult(string(out))
			if !strings.HasPrefix(line, "status=200") {
				t.Fatalf("helper result %q, want status=200\n%s", line, out)
			}
			if got := strings.Contains(line, "via=1"); got != tc.wantViaProxy {
				t.Errorf("response via proxy = %v, want %v (%s)", got, tc.wantViaProxy, line)
			}
			if got := proxy.plain.Load() - plain0; got != tc.wantPlain {
				t.Errorf("proxy saw %d plain requests, want %d", got, tc.wantPlain)
			}
			if got := proxy.connect.Load() - connect0; got != tc.wantConnect {
				t.Errorf("proxy saw %d CONNECT tunnels, want %d", got, tc.wantConnect)
			}
		})
	}
}

func helperResult(out string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "RESULT ") {
			return strings.TrimPrefix(l, "RESULT ")
		}
	}
	return ""
}

// TestProxyHelperProcess is not a test: TestProxySemantics runs it in a
// child process with the proxy environment of one case.
func TestProxyHelperProcess(t *testing.T) {
	if os.Getenv("HTTPCLIENT_PROXY_HELPER") != "1" {
		t.Skip("helper process for TestProxySemantics")
	}
	tr := NewTransport(Options{Insecure: true, Proxy: os.Getenv("HTTPCLIENT_USE_PROXY") == "true"})
	// Direct connections resolve the test name; proxied ones dial the
	// proxy (a loopback IP) and never reach this resolver for the target.
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, resolveLocaltest(addr))
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	resp, err := c.Get(os.Getenv("HTTPCLIENT_TARGET"))
	if err != nil {
		fmt.Printf("RESULT error=%v\n", err)
		return
	}
	resp.Body.Close()
	fmt.Printf("RESULT status=%d via=%s\n", resp.StatusCode, resp.Header.Get("X-Via-Test-Proxy"))
}

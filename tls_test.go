package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// proxyTestHost is the name the binary is given for the emulator: Go never
// proxies loopback destinations, so the server must have another name. Only
// the test proxy knows it (it resolves it to 127.0.0.1); the binary cannot
// resolve it itself, so a request that bypasses the proxy fails.
const proxyTestHost = "localtest.invalid"

// connectProxy is a loopback HTTPS (CONNECT) proxy that counts tunnels.
type connectProxy struct {
	*httptest.Server
	tunnels atomic.Int64
}

func newConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		host, port, _ := net.SplitHostPort(r.Host)
		if host != proxyTestHost {
			http.Error(w, "unknown host", http.StatusBadGateway)
			return
		}
		p.tunnels.Add(1)
		up, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
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
	}))
	t.Cleanup(p.Close)
	return p
}

// TestBinaryProxy: the real binary, configured against the emulator by a
// non-loopback name, with HTTPS_PROXY set in its environment. proxy=true
// goes through the proxy (token endpoint and API) and succeeds; proxy=false
// ignores the environment (the proxy sees nothing and the name does not
// resolve).
func TestBinaryProxy(t *testing.T) {
	bin := testutil.BuildBinary(t)
	proxy := newConnectProxy(t)
	srv := emulator.NewTLSServer()
	defer srv.Close()
	srv.AddTenant("contoso")
	srv.Subscribe("contoso", "Audit.General")
	u, _ := url.Parse(srv.URL)
	named := "https://" + net.JoinHostPort(proxyTestHost, u.Port())
	p := srv.ClientCredentialsParams("contoso")
	p["base_url"] = named + "/api/v1.0/"
	p["authority_url"] = named
	p["insecure"] = true

	for _, tc := range []struct {
		name        string
		proxy       bool
		env         bool
		wantCode    int
		wantTunnels bool
		wantMsg     string
	}{
		{"proxy on, HTTPS_PROXY set", true, true, 0, true, ""},
		{"proxy off, HTTPS_PROXY set", false, true, 1, false, proxyTestHost},
		{"proxy on, no HTTPS_PROXY", true, false, 1, false, proxyTestHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := proxy.tunnels.Load()
			q := map[string]any{}
			for k, v := range p {
				q[k] = v
			}
			q["proxy"] = tc.proxy
			raw, _ := json.Marshal(map[string]any{"command": "test-module", "params": q})
			cmd := exec.Command(bin)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			if tc.env {
				cmd.Env = append(cmd.Env, "HTTPS_PROXY="+proxy.URL, "https_proxy="+proxy.URL, "HTTP_PROXY="+proxy.URL)
			}
			cmd.Stdin = bytes.NewReader(raw)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			tunnels := proxy.tunnels.Load() - before
			t.Logf("exit %d, %d CONNECT tunnels: %.300s", code, tunnels, stdout.String())
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d:\n%s\n%s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if (tunnels > 0) != tc.wantTunnels {
				t.Errorf("%d tunnels through the proxy, want some: %v", tunnels, tc.wantTunnels)
			}
			if tc.wantMsg != "" && !strings.Contains(stdout.String(), tc.wantMsg) {
				t.Errorf("message does not name %s: %s", tc.wantMsg, stdout.String())
			}
		})
	}
}

package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secops-go/ms-management-activity/auth"
	"github.com/secops-go/ms-management-activity/internal/state"
	"github.com/secops-go/ms-management-activity/params"
)

// redirecting answers the requests whose path ends with trap with a
// redirect to thief (same host, another port), and counts every request that
// reaches thief's origin, with what it carried.
type redirecting struct {
	next   http.RoundTripper
	trap   string
	code   int
	thief  string
	stolen atomic.Int64
	body   atomic.Value
}

func (r *redirecting) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.URL.String(), r.thief) {
		r.stolen.Add(1)
		if req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			r.body.Store(string(b) + " " + req.Header.Get("X-Identity-Header"))
		}
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"access_token":"stolen","expires_in":3600,"token_type":"Bearer"}`)), Request: req}, nil
	}
	if strings.HasSuffix(req.URL.Path, r.trap) {
		return &http.Response{StatusCode: r.code, Header: http.Header{"Location": {r.thief + req.URL.RequestURI()}},
			Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
	}
	return r.next.RoundTrip(req)
}

// TestTokenRequestsRefuseRedirectsToAnotherOrigin: the token endpoint, the
// oproxy broker and the managed identity endpoint answering 302/307/308 to
// the same host on another port: refused with an error naming the origin,
// and nothing (client secret, refresh token, identity header) reaches it.
func TestTokenRequestsRefuseRedirectsToAnotherOrigin(t *testing.T) {
	h := newHarness(t)
	h.srv.AddTenant("tenant-1")
	endpoint, header := h.srv.RegisterManagedIdentity("", "tenant-1")
	t.Setenv("IDENTITY_ENDPOINT", endpoint)
	t.Setenv("IDENTITY_HEADER", header)
	thief := strings.Replace(h.srv.URL, "127.0.0.1:", "127.0.0.1:1", 1) // another port
	if thief == h.srv.URL {
		t.Fatal("no other port")
	}
	flows := []struct {
		name, trap string
		params     map[string]any
	}{
		{"token", "/oauth2/v2.0/token", h.srv.ClientCredentialsParams("tenant-1")},
		{"broker", "/obtain-token", h.srv.OproxyParams("tenant-1")},
		{"managed identity", "/msi/token", map[string]any{"base_url": h.srv.BaseURL(), "use_managed_identities": true}},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			codes := []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}
			if f.name == "managed identity" {
				// MSAL retries a failed managed identity request twice, a
				// wall-clock second apart: one case is enough.
				codes = codes[1:2]
			}
			for _, code := range codes {
				rt := &redirecting{next: h.srv.Client().Transport, trap: f.trap, code: code, thief: thief}
				p, err := params.Decode(f.params)
				if err != nil {
					t.Fatal(err)
				}
				ts, err := auth.New(context.Background(), auth.Config{Params: p, Store: state.New(nil), HTTP: &http.Client{Transport: rt},
					Clock: h.clk, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				tok, err := ts.Token(context.Background())
				what := f.name + " " + http.StatusText(code)
				if err == nil {
					t.Errorf("%s: followed the redirect and got token %q", what, tok)
				} else if !strings.Contains(err.Error(), strings.TrimPrefix(thief, "https://")) {
					t.Errorf("%s: error %q does not name the refused origin %s", what, err, thief)
				}
				if n := rt.stolen.Load(); n != 0 {
					t.Errorf("%s: %d request(s) reached the other origin, carrying %.60q", what, n, rt.body.Load())
				}
			}
		})
	}
}

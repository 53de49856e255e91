package activity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
)

// redirectKinds are the requests of the client, each with the path that
// the trap server redirects and the call that makes it.
var redirectKinds = []struct {
	name string
	trap string // path suffix answered with the redirect
	call func(c *Client, base string) error
}{
	{"subscriptions", "/subscriptions/list", func(c *Client, _ string) error { _, err := c.ListSubscriptions(context.Background()); return err }},
	{"start", "/subscriptions/start", func(c *Client, _ string) error {
		_, err := c.StartSubscription(context.Background(), "Audit.General")
		return err
	}},
	{"listing", "/subscriptions/content", func(c *Client, _ string) error {
		_, err := c.ListContent(context.Background(), "Audit.General", testNow.Add(-time.Hour), testNow)
		return err
	}},
	{"page", "/page2", func(c *Client, _ string) error {
		_, err := c.ListContent(context.Background(), "Audit.General", testNow.Add(-time.Hour), testNow)
		return err
	}},
	{"blob", "/audit/blob1", func(c *Client, base string) error {
		_, err := c.FetchContent(context.Background(), base+"/api/v1.0/contoso/activity/feed/audit/blob1")
		return err
	}},
}

// apiAnswer is a normal answer to each request kind; the listing's first
// page links to /page2.
func apiAnswer(w http.ResponseWriter, r *http.Request, base string) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/subscriptions/content"):
		w.Header().Set("NextPageUri", base+"/api/v1.0/contoso/activity/feed/page2")
		w.Write([]byte(`[]`))
	case strings.HasSuffix(r.URL.Path, "/subscriptions/start"):
		w.Write([]byte(`{"contentType":"Audit.General","status":"enabled"}`))
	default:
		w.Write([]byte(`[]`))
	}
}

// thief is a server that must never see a request.
type thief struct {
	*httptest.Server
	hits atomic.Int64
	auth atomic.Value
}

func newThief(t *testing.T, tls bool) *thief {
	th := &thief{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.hits.Add(1)
		th.auth.Store(r.Header.Get("Authorization"))
		// Content that must never be taken as the API's.
		w.Write([]byte(`[{"Id":"stolen"}]`))
	})
	if tls {
		th.Server = httptest.NewTLSServer(h)
	} else {
		th.Server = httptest.NewServer(h)
	}
	t.Cleanup(th.Close)
	return th
}

// TestRedirectToAnotherOriginRefused: a redirect (302, 307, 308) of any
// request kind to the same host on another port, to another scheme, or to
// another host name is refused with an error naming the origin; the other
// origin never sees a request (so neither the token nor a body).
func TestRedirectToAnotherOriginRefused(t *testing.T) {
	plain := newThief(t, false)
	otherHost := strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)
	for _, tlsAPI := range []bool{false, true} {
		targets := map[string]string{"other port": plain.URL, "other host": otherHost}
		if tlsAPI {
			targets = map[string]string{"https to http": plain.URL}
		}
		for tname, target := range targets {
			for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
				for _, k := range redirectKinds {
					var base string
					h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if strings.HasSuffix(r.URL.Path, k.trap) {
							http.Redirect(w, r, target+r.URL.RequestURI(), code)
							return
						}
						apiAnswer(w, r, base)
					})
					var srv *httptest.Server
					if tlsAPI {
						srv = httptest.NewTLSServer(h)
					} else {
						srv = httptest.NewServer(h)
					}
					base = srv.URL
					hc := srv.Client()
					c, err := New(Config{BaseURL: base + "/api/v1.0/", Tenant: "contoso", HTTP: hc, Tokens: StaticToken("secret-bearer-token"),
						Clock: clock.NewFake(testNow), Jitter: func(time.Duration) time.Duration { return 0 }})
					if err != nil {
						t.Fatal(err)
					}
					err = k.call(c, base)
					srv.Close()
					what := tname + " " + http.StatusText(code) + " " + k.name
					if err == nil {
						t.Errorf("%s: followed the redirect", what)
						continue
					}
					wantOrigin := target
					if !strings.Contains(err.Error(), wantOrigin) || !strings.Contains(err.Error(), "redirect") {
						t.Errorf("%s: error %q does not name the refused origin %s", what, err, wantOrigin)
					}
					if strings.Contains(err.Error(), "after 2 attempts") {
						t.Errorf("%s: a refused redirect was retried: %v", what, err)
					}
				}
			}
		}
	}
	if n := plain.hits.Load(); n != 0 {
		t.Errorf("the other origin got %d requests (last Authorization %q)", n, plain.auth.Load())
	}
}

// TestSameOriginRedirectsFollowedUpToThree: within base_url's origin a
// redirect is followed, three at most.
func TestSameOriginRedirectsFollowedUpToThree(t *testing.T) {
	for _, hops := range []int{1, 3, 4} {
		var base string
		var auths atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer secret-bearer-token" {
				auths.Add(1)
			}
			n, _ := strconv.Atoi(r.URL.Query().Get("hop"))
			if n < hops {
				q := r.URL.Query()
				q.Set("hop", strconv.Itoa(n+1))
				http.Redirect(w, r, r.URL.Path+"?"+q.Encode(), http.StatusTemporaryRedirect)
				return
			}
			apiAnswer(w, r, base)
		}))
		base = srv.URL
		c := hostileClient(t, base, nil)
		_, err := c.ListSubscriptions(context.Background())
		srv.Close()
		if hops <= 3 && err != nil {
			t.Errorf("%d same-origin redirects: %v", hops, err)
		}
		if hops > 3 && (err == nil || !strings.Contains(err.Error(), "more than 3 times")) {
			t.Errorf("%d same-origin redirects: err = %v, want the redirect limit", hops, err)
		}
		if hops <= 3 && auths.Load() != int64(hops+1) {
			t.Errorf("%d hops: %d requests carried the token, want %d (same origin keeps it)", hops, auths.Load(), hops+1)
		}
	}
}

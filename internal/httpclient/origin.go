package httpclient

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// MaxRedirects is how many same-origin redirects one request follows.
const MaxRedirects = 3

// Origin is a URL's scheme, host and port ("https://manage.office.com:443"),
// the unit credentials are bound to: a change of any part is another
// origin, whatever the host name.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// OriginError is a request or redirect to an origin credentials are not
// sent to. It is never retried: the answer will not change.
type OriginError struct {
	// To is the refused origin; Allowed the origins of this client.
	To      string
	Allowed []string
	// Redirect is true when a server's redirect led there.
	Redirect bool
}

func (e *OriginError) Error() string {
	if e.Redirect {
		return fmt.Sprintf("the server redirected to %s, another origin than %s: not following it (credentials go only to the origin they are for)", e.To, strings.Join(e.Allowed, ", "))
	}
	return fmt.Sprintf("refusing to send a request to %s: credentials of this connection go only to %s", e.To, strings.Join(e.Allowed, ", "))
}

// RedirectLimitError is a chain of more than MaxRedirects redirects.
type RedirectLimitError struct{ Origin string }

func (e *RedirectLimitError) Error() string {
	return fmt.Sprintf("the server at %s redirected more than %d times; stopping", e.Origin, MaxRedirects)
}

// SameOrigin is an http.Client CheckRedirect: a redirect is followed only
// to the origin of the first request, at most MaxRedirects times. Go would
// otherwise follow 10 and keep the Authorization header (and resend a 307/
// 308 body, a client secret included) when only the port or scheme
// changes.
func SameOrigin(req *http.Request, via []*http.Request) error {
	first := Origin(via[0].URL)
	if to := Origin(req.URL); to != first {
		return &OriginError{To: to, Allowed: []string{first}, Redirect: true}
	}
	if len(via) > MaxRedirects {
		return &RedirectLimitError{Origin: first}
	}
	return nil
}

// Restrict returns a client that sends requests only to the given origins
// (URLs; only their scheme, host and port count) and follows redirects as
// SameOrigin does. The token endpoint's credentials and the API's bearer
// token are bound this way to the origin they are for.
func Restrict(c *http.Client, origins ...string) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	allowed := make([]string, 0, len(origins))
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			allowed = append(allowed, Origin(u))
		}
	}
	out := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = &originTransport{next: next, allowed: allowed}
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := SameOrigin(req, via); err != nil {
			if oe, ok := err.(*OriginError); ok {
				oe.Allowed = allowed
			}
			return err
		}
		return nil
	}
	return &out
}

type originTransport struct {
	next    http.RoundTripper
	allowed []string
}

func (t *originTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	o := Origin(req.URL)
	for _, a := range t.allowed {
		if a == o {
			return t.next.RoundTrip(req)
		}
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, &OriginError{To: o, Allowed: t.allowed}
}

// Unwrap returns the wrapped transport (TLS settings are read through it).
func (t *originTransport) Unwrap() http.RoundTripper { return t.next }

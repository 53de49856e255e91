package commands

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/params"
)

// echoer answers the requests it traps with a body that echoes the
// request's secrets (bearer token, identity header, form secrets) and the
// test's planted ones, at a chosen offset, in a chosen kind of body.
type echoer struct {
	next   http.RoundTripper
	trap   func(*http.Request) bool
	status int
	kind   string // json, html, form, text
	offset int
	plant  []string // secrets known to the test, planted too
	api    bool     // JSON in the API's error shape (else OAuth's)
	inID   bool     // a record's Id is the echo too (200 only)

	mu      sync.Mutex
	planted []string
}

func (e *echoer) RoundTrip(req *http.Request) (*http.Response, error) {
	if !e.trap(req) {
		return e.next.RoundTrip(req)
	}
	secrets := append([]string(nil), e.plant...)
	if a := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "); a != "" {
		secrets = append(secrets, a)
	}
	if h := req.Header.Get("X-IDENTITY-HEADER"); h != "" {
		secrets = append(secrets, h)
	}
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		if form, err := url.ParseQuery(string(b)); err == nil {
			for _, k := range []string{"client_secret", "refresh_token", "code", "client_assertion"} {
				if v := form.Get(k); v != "" {
					secrets = append(secrets, v)
				}
			}
		}
	}
	e.mu.Lock()
	e.planted = append(e.planted, secrets...)
	e.mu.Unlock()
	msg := strings.Repeat("x", e.offset) + strings.Join(secrets, " ") + " end of message"
	var body, ct string
	switch e.kind {
	case "json":
		q, _ := json.Marshal(msg)
		if e.api {
			body = `{"error":{"code":"AF20051","message":` + string(q) + `}}`
		} else {
			body = `{"error":"invalid_client","error_description":` + string(q) + `}`
		}
		ct = "application/json"
	case "html":
		body, ct = "<html><head><title>Error</title></head><body><h1>Error</h1><p>"+html.EscapeString(msg)+"</p></body></html>", "text/html"
	case "form":
		body, ct = "error=invalid_request&error_description="+url.QueryEscape(msg), "application/x-www-form-urlencoded"
	default:
		body, ct = msg, "text/plain"
	}
	if e.status == http.StatusOK { // a blob whose records carry the echo
		q, _ := json.Marshal(body)
		id := []byte(`"echo-1"`)
		if e.inID {
			id = q
		}
		body = fmt.Sprintf(`[{"Id":%s,"CreationTime":"2026-11-28T09:00:00","RecordType":1,"Operation":%s,"Workload":"Echo","UserId":%s,"Data":{"echo":%s}}]`, id, q, q, q)
		ct = "application/json"
	}
	return &http.Response{StatusCode: e.status, Header: http.Header{"Content-Type": {ct}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

func (e *echoer) secrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.planted...)
}

// withoutTokenCache is stdout without the one value meant to hold tokens:
// integrationContext's token cache.
func withoutTokenCache(t *testing.T, stdout []byte) string {
	var out map[string]any
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if ic, ok := out["integrationContext"].(map[string]any); ok {
		delete(ic, "auth")
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// leakIn returns a form of a secret (or its first 12 characters: what a cut
// before redaction leaves) found in text, or "".
func leakIn(text string, secrets []string) string {
	for _, s := range secrets {
		for _, f := range redact.Forms(s) {
			if len(f) >= 16 {
				f = f[:12]
			}
			if strings.Contains(text, f) {
				return f
			}
		}
	}
	return ""
}

// TestEchoedSecretsNeverLeave plants every secret of the run (client
// secret, access token received, broker key and refresh token, managed
// identity header) in every kind of echoing answer (JSON, HTML, form, plain
// text) at offsets 0, 299, 300, 499, 500 and 4096, on every path: the token
// endpoint, broker and managed identity failing (error), an API call failing
// (error), a blob failing during fetch (warning and lastRun diagnostics), a
// blob whose records echo them, in their Id too (success: list-content's and
// search-records' entries and context, fetch's incidents), and checks
// that none survives in stdout or the log, in any form or as a prefix.
func TestEchoedSecretsNeverLeave(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	fake := clock.NewFake(now)
	srv := emulator.NewTLSServer(emulator.WithClock(fake))
	t.Cleanup(srv.Close)
	srv.AddTenant("contoso")
	srv.Subscribe("contoso", "Audit.General")
	srv.AddBlob("contoso", "Audit.General", now.Add(-2*time.Hour), json.RawMessage(`{"Id":"r-1","CreationTime":"2026-11-28T09:00:00","RecordType":1,"Workload":"X","Operation":"Y"}`))
	endpoint, header := srv.RegisterManagedIdentity("", "contoso")
	t.Setenv("IDENTITY_ENDPOINT", endpoint)
	t.Setenv("IDENTITY_HEADER", header)

	cc := srv.ClientCredentialsParams("contoso")
	ccSecret := cc["credentials_enc_key"].(map[string]any)["password"].(string)
	op := srv.OproxyParams("contoso")
	opSecrets := []string{op["credentials_enc_key"].(map[string]any)["password"].(string), op["credentials_refresh_token"].(map[string]any)["password"].(string)}
	mi := map[string]any{"base_url": srv.BaseURL(), "use_managed_identities": true}
	fetchArgs := map[string]any{"first_fetch_delta": "1 day", "content_types_to_fetch": "Audit.General"}
	with := func(m map[string]any, extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	suffix := func(s string) func(*http.Request) bool {
		return func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, s) }
	}
	tr := srv.Client().Transport
	// The delegated flow: a signed-in run leaves a refresh token in the
	// cache; the poisoned run, hours later, sends it to the token endpoint.
	srv.RegisterApp(emulator.App{TenantID: "contoso", ClientID: "user-app", Secret: "user-app-secret-value"})
	authCode := map[string]any{"base_url": srv.BaseURL(), "authority_url": srv.URL, "self_deployed": true,
		"credentials_auth_id": map[string]any{"password": "user-app"}, "credentials_refresh_token": map[string]any{"password": "contoso"},
		"credentials_enc_key": map[string]any{"password": "user-app-secret-value"}, "redirect_uri": "https://localhost/callback"}
	signedIn := func() map[string]any {
		p := with(authCode, map[string]any{"credentials_auth_code": map[string]any{"password": srv.AddAuthCode("contoso", "user-app", "https://localhost/callback")}})
		raw, _ := json.Marshal(map[string]any{"command": CmdTestModule, "params": p})
		res := runEnvelope(t, raw, &Deps{Clock: fake, HTTPClient: func(pp *params.Params) *http.Client { return &http.Client{Timeout: pp.Timeout, Transport: tr} }})
		var out struct {
			IntegrationContext map[string]any `json:"integrationContext"`
		}
		if json.Unmarshal(res.stdout, &out) != nil || res.code != 0 || out.IntegrationContext == nil {
			t.Fatalf("sign-in run: exit %d: %s", res.code, res.stdout)
		}
		fake.Advance(2 * time.Hour)
		return out.IntegrationContext
	}
	isBlob := func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/activity/feed/audit/") }
	listArgs := map[string]any{"content_type": "Audit.General"}
	searchArgs := map[string]any{"workloads": "Echo!"} // the echoing records' workload, taken as given
	paths := []struct {
		name    string
		command string
		params  map[string]any
		args    map[string]any
		trap    func(*http.Request) bool
		status  int
		api     bool
		plant   []string
		inID    bool // the records' Id echoes too (it becomes an incident's dbotMirrorId, a context ID)
		// setup, when set, runs first and returns the integrationContext
		// the poisoned run starts from.
		setup func() map[string]any
	}{
		{"token endpoint error", CmdTestModule, cc, nil, suffix("/token"), http.StatusUnauthorized, false, []string{ccSecret}, false, nil},
		{"broker error", CmdTestModule, op, nil, suffix("/obtain-token"), http.StatusBadRequest, false, opSecrets, false, nil},
		{"managed identity error", CmdTestModule, mi, nil, suffix("/msi/token"), http.StatusBadRequest, false, nil, false, nil},
		{"API error", CmdListSubscriptions, cc, nil, suffix("/subscriptions/list"), http.StatusForbidden, true, []string{ccSecret}, false, nil},
		{"fetch blob warning", CmdFetchIncidents, with(cc, fetchArgs), nil, isBlob, http.StatusNotFound, true, []string{ccSecret}, false, nil},
		{"list-content records", CmdListContent, cc, listArgs, isBlob, http.StatusOK, true, []string{ccSecret}, false, nil},
		{"list-content records, echo in Id", CmdListContent, cc, listArgs, isBlob, http.StatusOK, true, []string{ccSecret}, true, nil},
		{"fetch records", CmdFetchIncidents, with(cc, fetchArgs), nil, isBlob, http.StatusOK, true, []string{ccSecret}, false, nil},
		{"fetch records, echo in Id", CmdFetchIncidents, with(cc, fetchArgs), nil, isBlob, http.StatusOK, true, []string{ccSecret}, true, nil},
		{"search-records records", CmdSearchRecords, cc, searchArgs, isBlob, http.StatusOK, true, []string{ccSecret}, false, nil},
		{"search-records records, echo in Id", CmdSearchRecords, cc, searchArgs, isBlob, http.StatusOK, true, []string{ccSecret}, true, nil},
		{"refresh grant error", CmdTestModule, authCode, nil, suffix("/token"), http.StatusBadRequest, false, []string{"user-app-secret-value"}, false, signedIn},
	}
	redacted := 0
	for _, p := range paths {
		for _, kind := range []string{"json", "html", "form", "text"} {
			for _, off := range []int{0, 299, 300, 499, 500, 4096} {
				if p.name == "managed identity error" && off != 0 && off != 300 {
					continue // MSAL retries a failing identity endpoint on the wall clock
				}
				e := &echoer{next: tr, trap: p.trap, status: p.status, kind: kind, offset: off, plant: p.plant, api: p.api, inID: p.inID}
				deps := &Deps{Clock: fake, HTTPClient: func(pp *params.Params) *http.Client { return &http.Client{Timeout: pp.Timeout, Transport: e} }}
				envl := map[string]any{"command": p.command, "params": p.params, "args": p.args}
				if p.setup != nil {
					envl["integrationContext"] = p.setup()
				}
				raw, _ := json.Marshal(envl)
				res := runEnvelope(t, raw, deps)
				what := fmt.Sprintf("%s, %s body, secret at %d", p.name, kind, off)
				secrets := e.secrets()
				if p.setup != nil && len(secrets) <= len(p.plant)+1 {
					t.Fatalf("%s: the poisoned request carried no refresh token: %d secrets", what, len(secrets))
				}
				if len(secrets) == 0 {
					t.Fatalf("%s: the echo was never sent (exit %d): %s", what, res.code, res.stdout)
				}
				if f := leakIn(withoutTokenCache(t, res.stdout), secrets); f != "" {
					t.Errorf("%s: stdout (exit %d) holds %q:\n%.2000s", what, res.code, f, res.stdout)
				}
				if f := leakIn(res.log, secrets); f != "" {
					t.Errorf("%s: the log holds %q", what, f)
				}
				if strings.Contains(string(res.stdout), redact.Placeholder) {
					redacted++
				} else if p.status == http.StatusOK {
					t.Errorf("%s: no redacted record in stdout (exit %d): the echoing records did not reach the output:\n%.2000s", what, res.code, res.stdout)
				}
			}
		}
	}
	if redacted < 40 {
		t.Errorf("only %d outputs showed a redacted secret: the echoes did not reach the output, the test proves little", redacted)
	}
}

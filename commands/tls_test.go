package commands

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// tlsRig is a self-signed HTTPS emulator reached through the production
// HTTP client (Deps.HTTPClient nil: httpclient.New with the params'
// insecure, proxy and timeout), so certificate verification is real.
func tlsRig(t *testing.T, realAuth bool) (*emulator.Server, map[string]any, *Deps) {
	t.Helper()
	fake := clock.NewFake(faultNow)
	srv := emulator.NewTLSServer(emulator.WithClock(fake))
	t.Cleanup(srv.Close)
	srv.AddTenant("contoso")
	srv.Subscribe("contoso", "Audit.General")
	// The production HTTP client factory (what a nil Deps.HTTPClient gets).
	deps := &Deps{Clock: fake, HTTPClient: (&Deps{}).withDefaults().HTTPClient}
	var p map[string]any
	if realAuth {
		p = srv.ClientCredentialsParams("contoso")
	} else {
		p = map[string]any{"base_url": srv.BaseURL()}
		deps.TokenSource = func(context.Context, *Env) (activity.TokenSource, error) {
			tok, _ := srv.IssueToken("contoso", time.Hour)
			return activity.StaticToken(tok), nil
		}
	}
	return srv, p, deps
}

func runTLS(t *testing.T, command string, p map[string]any, deps *Deps, insecure bool) (runResult, decodedResult) {
	t.Helper()
	q := map[string]any{}
	for k, v := range p {
		q[k] = v
	}
	q["insecure"] = insecure
	raw := mustJSON(t, map[string]any{"command": command, "params": q, "args": map[string]any{"content_type": "Audit.General"}})
	res := runEnvelope(t, raw, deps)
	return res, checkProtocol(t, command, res, paramSecrets(q))
}

// TestTLSVerifiedByDefault: against a self-signed server, every command
// fails without insecure (not retried: a certificate does not fix itself)
// and succeeds with it.
func TestTLSVerifiedByDefault(t *testing.T) {
	for _, realAuth := range []bool{false, true} {
		name := map[bool]string{false: "API", true: "token endpoint"}[realAuth]
		for _, command := range []string{CmdTestModule, CmdListSubscriptions, CmdListContent, CmdFetchIncidents} {
			t.Run(name+"/"+command, func(t *testing.T) {
				srv, p, deps := tlsRig(t, realAuth)
				p["content_types_to_fetch"] = "Audit.General"
				res, got := runTLS(t, command, p, deps, false)
				msg := got.errorMessage()
				if res.code != 1 || !strings.Contains(msg, "x509: certificate signed by unknown authority") {
					t.Fatalf("without insecure: exit %d, message %q: want exit 1 naming the x509 cause", res.code, msg)
				}
				sends := srv.Count("subscriptions/list") + srv.Count("subscriptions/content") + srv.Count("token")
				if sends != 0 {
					t.Errorf("%d requests reached the server past a failed handshake", sends)
				}
				if slept := deps.Clock.(*clock.Fake).Slept(); slept != 0 {
					t.Errorf("waited %s (backoff): a certificate error was retried", slept)
				}
				res, got = runTLS(t, command, p, deps, true)
				if res.code != 0 {
					t.Fatalf("with insecure: exit %d: %s", res.code, got.errorMessage())
				}
			})
		}
	}
}

// TestTLSErrorNamesInsecure: the certificate error tells the user the fix:
// the insecure ("Trust any certificate") parameter. docs/protocol.md: "a message
// that says what failed and what to do".
func TestTLSErrorNamesInsecure(t *testing.T) {
	for _, realAuth := range []bool{false, true} {
		name := map[bool]string{false: "API", true: "token endpoint"}[realAuth]
		t.Run(name, func(t *testing.T) {
			_, p, deps := tlsRig(t, realAuth)
			res, got := runTLS(t, CmdListSubscriptions, p, deps, false)
			msg := got.errorMessage()
			if res.code != 1 {
				t.Fatalf("exit %d", res.code)
			}
			if !strings.Contains(msg, "insecure") && !strings.Contains(msg, "Trust any certificate") {
				t.Errorf("the certificate error does not name the insecure parameter (\"Trust any certificate\"):\n%s", msg)
			}
		})
	}
}

// TestTLSMinimum12: a server that offers at most TLS 1.1 is refused, even
// with insecure.
func TestTLSMinimum12(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	srv.StartTLS()
	defer srv.Close()
	deps := &Deps{Clock: clock.NewFake(faultNow), HTTPClient: (&Deps{}).withDefaults().HTTPClient, TokenSource: func(context.Context, *Env) (activity.TokenSource, error) {
		return activity.StaticToken("eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJjb250b3NvIn0.c2ln"), nil
	}}
	res, got := runTLS(t, CmdListSubscriptions, map[string]any{"base_url": srv.URL + "/api/v1.0/"}, deps, true)
	if res.code != 1 || !strings.Contains(got.errorMessage(), "protocol version") {
		t.Fatalf("TLS 1.1 server: exit %d, message %q: want a protocol version error", res.code, got.errorMessage())
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // certificate thumbprints are SHA-1 by definition
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// The secret-hygiene harness: every command, in every auth flow, on its
// success path and its error paths, through main's run (and, for a sample,
// the real binary), at --log-level debug, with known secret values in the
// params. No form of a secret (raw, base64, URL-encoded, a line of a PEM
// key) may appear in stdout, stderr or an error message; tokens the
// emulator issued may appear only inside integrationContext (where the
// engine must store them), never in results or logs.

// hygieneForms are the forms of a secret searched for.
func hygieneForms(s string) []string {
	s = strings.TrimSpace(s)
	if len(s) < 8 {
		return nil
	}
	out := []string{s,
		base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s)),
		base64.URLEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)),
		url.QueryEscape(s), url.PathEscape(s),
	}
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

func findSecret(text string, secrets []string) string {
	for _, s := range secrets {
		for _, f := range hygieneForms(s) {
			if strings.Contains(text, f) {
				return fmt.Sprintf("%.24q… (as %.24q…)", s, f)
			}
		}
	}
	return ""
}

// flowFixture is one auth flow configured against the emulator, with the
// secret values it uses.
type flowFixture struct {
	name    string
	params  map[string]any
	secrets []string // param secrets: never anywhere, integrationContext included
}

func selfSigned(t *testing.T) (certPEM, keyPEM, thumbprint string, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ms-management-activity test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	sum := sha1.Sum(der) //nolint:gosec // thumbprint
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})), strings.ToUpper(hex.EncodeToString(sum[:])), cert
}

// hygieneFlows configures every auth flow on srv for tenant contoso.
func hygieneFlows(t *testing.T, srv *emulator.Server) []flowFixture {
	t.Helper()
	common := func(p map[string]any) map[string]any {
		p["insecure"] = true // the emulator's certificate is self-signed
		p["content_types_to_fetch"] = "Audit.General"
		p["first_fetch_delta"] = "1 day"
		return p
	}
	var flows []flowFixture

	cc := srv.ClientCredentialsParams("contoso")
	flows = append(flows, flowFixture{"client secret", common(cc), []string{cc["credentials_enc_key"].(map[string]any)["password"].(string)}})

	certPEM, keyPEM, thumb, cert := selfSigned(t)
	srv.RegisterApp(emulator.App{TenantID: "contoso", ClientID: "app-cert-0001", Certificate: cert})
	flows = append(flows, flowFixture{"certificate", common(map[string]any{
		"base_url": srv.BaseURL(), "authority_url": srv.URL, "self_deployed": true,
		"credentials_auth_id":                map[string]any{"identifier": "", "password": "app-cert-0001"},
		"credentials_refresh_token":          map[string]any{"identifier": "", "password": "contoso"},
		"credentials_certificate_thumbprint": map[string]any{"identifier": "", "password": thumb},
		"private_key":                        keyPEM + certPEM,
	}), []string{thumb, keyPEM}})

	const acSecret = "AuthCodeApp~Secret.0123456789abcdef"
	srv.RegisterApp(emulator.App{TenantID: "contoso", ClientID: "app-code-0001", Secret: acSecret})
	code := srv.AddAuthCode("contoso", "app-code-0001", "https://localhost/callback")
	flows = append(flows, flowFixture{"authorization code", common(map[string]any{
		"base_url": srv.BaseURL(), "authority_url": srv.URL, "self_deployed": true, "redirect_uri": "https://localhost/callback",
		"credentials_auth_id":       map[string]any{"identifier": "", "password": "app-code-0001"},
		"credentials_refresh_token": map[string]any{"identifier": "", "password": "contoso"},
		"credentials_enc_key":       map[string]any{"identifier": "", "password": acSecret},
		"credentials_auth_code":     map[string]any{"identifier": "", "password": code},
	}), []string{acSecret, code}})

	op := srv.OproxyParams("contoso")
	flows = append(flows, flowFixture{"oproxy", common(op), []string{
		op["credentials_refresh_token"].(map[string]any)["password"].(string),
		op["credentials_enc_key"].(map[string]any)["password"].(string),
	}})
	return flows
}

// tokensOf collects every token an integrationContext holds (our record,
// the legacy keys, the secrets inside MSAL's cache).
func tokensOf(ictx map[string]any) []string {
	var out []string
	var walk func(k string, v any)
	walk = func(k string, v any) {
		switch t := v.(type) {
		case string:
			switch k {
			case "access_token", "refresh_token", "current_refresh_token", "secret":
				out = append(out, t)
			case "msal_cache":
				var m map[string]any
				if json.Unmarshal([]byte(t), &m) == nil {
					walk("", m)
				}
			}
		case map[string]any:
			for kk, vv := range t {
				walk(kk, vv)
			}
		}
	}
	walk("", ictx)
	return out
}

// hygieneCase is one run: a command, its args, and what breaks first.
type hygieneCase struct {
	name    string
	command string
	args    map[string]any
	params  map[string]any             // overrides
	setup   func(srv *emulator.Server) // a fault, undone after the run
	ictx    bool                       // run with the flow's stored integrationContext
	// pasteInto names a non-secret param that gets the flow's first
	// secret, as when a user pastes it into the wrong field: every error
	// that quotes the field's value must still not show it.
	pasteInto string
}

func hygieneCases() []hygieneCase {
	ct := map[string]any{"content_type": "Audit.General"}
	none := func(*emulator.Server) {}
	var cases []hygieneCase
	for _, cmd := range []string{"test-module", "fetch-incidents", "ms-management-activity-list-subscriptions", "ms-management-activity-start-subscription",
		"ms-management-activity-stop-subscription", "ms-management-activity-list-content", "ms-management-activity-generate-login-url", "ms-management-activity-auth-reset"} {
		args := map[string]any{}
		if strings.HasSuffix(cmd, "-subscription") || strings.HasSuffix(cmd, "-list-content") {
			args = ct
		}
		cases = append(cases,
			hygieneCase{name: "fresh", command: cmd, args: args, setup: none},
			hygieneCase{name: "cached token", command: cmd, args: args, setup: none, ictx: true},
			hygieneCase{name: "token endpoint down", command: cmd, args: args, setup: func(s *emulator.Server) { s.FailTokens(emulator.TokenDown) }},
			hygieneCase{name: "invalid client", command: cmd, args: args, setup: func(s *emulator.Server) { s.FailTokens(emulator.TokenInvalidClient) }},
			hygieneCase{name: "token endpoint 500", command: cmd, args: args, setup: func(s *emulator.Server) { s.FailTokens(emulator.TokenServerError) }},
			hygieneCase{name: "API 401 twice", command: cmd, args: args, ictx: true, setup: func(s *emulator.Server) { s.FailNext("*", 2, emulator.ExpiredToken) }},
			hygieneCase{name: "revoked cached token", command: cmd, args: args, ictx: true, setup: func(s *emulator.Server) { s.RevokeTokens() }},
			hygieneCase{name: "API non-JSON error", command: cmd, args: args, setup: func(s *emulator.Server) { s.FailNext("*", 1, emulator.NonJSONError) }},
			hygieneCase{name: "blob not an array", command: cmd, args: args, setup: func(s *emulator.Server) { s.FailNext("blob", 1, emulator.NotArray) }},
			hygieneCase{name: "TLS verification", command: cmd, args: args, params: map[string]any{"insecure": false}, setup: none},
			hygieneCase{name: "bad timeout param", command: cmd, args: args, params: map[string]any{"timeout": "-1"}, setup: none},
			hygieneCase{name: "secret of the wrong type", command: cmd, args: args, params: map[string]any{"credentials_enc_key": map[string]any{"password": []any{"WrongTypeSecret-4711-abcdef"}}}, setup: none},
			hygieneCase{name: "bad base_url", command: cmd, args: args, params: map[string]any{"base_url": "ftp://manage.office.com/"}, setup: none},
			hygieneCase{name: "secret pasted into base_url", command: cmd, args: args, pasteInto: "base_url", setup: none},
			hygieneCase{name: "secret pasted into timeout", command: cmd, args: args, pasteInto: "timeout", setup: none},
			hygieneCase{name: "secret pasted into first_fetch_delta", command: cmd, args: args, pasteInto: "first_fetch_delta", setup: none},
		)
	}
	cases = append(cases,
		hygieneCase{name: "bad args", command: "ms-management-activity-list-content", args: map[string]any{"content_type": "Audit.Nope", "start_time": "x"}, setup: none},
		hygieneCase{name: "bad window", command: "ms-management-activity-list-content", args: map[string]any{"content_type": "Audit.General", "start_time": "2020-01-01T00:00:00", "end_time": "2020-01-01T01:00:00"}, setup: none},
		hygieneCase{name: "no subscription", command: "ms-management-activity-list-content", args: map[string]any{"content_type": "DLP.All"}, setup: none},
		hygieneCase{name: "bad lastRun", command: "fetch-incidents", args: map[string]any{}, setup: none},
	)
	return cases
}

// TestSecretHygiene runs every hygiene case in every flow through main's
// run at --log-level debug and scans what it wrote.
func TestSecretHygiene(t *testing.T) {
	srv := emulator.NewTLSServer()
	defer srv.Close()
	srv.AddTenant("contoso")
	srv.Subscribe("contoso", "Audit.General")
	now := srv.Now()
	for b := 0; b < 3; b++ {
		srv.AddBlob("contoso", "Audit.General", now.Add(-time.Duration(3-b)*time.Hour),
			json.RawMessage(fmt.Sprintf(`{"Id":"rec-%d","CreationTime":%q,"RecordType":6,"Operation":"FileAccessed","Workload":"SharePoint","UserId":"u@contoso.com"}`,
				b, now.Add(-time.Duration(4-b)*time.Hour).UTC().Format("2006-01-02T15:04:05"))))
	}
	flows := hygieneFlows(t, srv)
	extra := []string{"WrongTypeSecret-4711-abcdef"}
	// Every retry and back-off (24 "token endpoint down" runs retry the
	// token endpoint with 1 s + 2 s waits) sleeps on this clock, not the
	// wall clock.
	fake := clock.NewFake(now)
	var (
		mu     sync.Mutex
		tokens []string // every token seen in any integrationContext
		runs   int
	)
	type output struct {
		name                  string
		stdout, stderr, noCtx string
		ictx                  map[string]any
	}
	var outputs []output
	for _, fl := range flows {
		var stored map[string]any // the flow's integrationContext after its first success
		for _, hc := range hygieneCases() {
			p := map[string]any{}
			for k, v := range fl.params {
				p[k] = v
			}
			for k, v := range hc.params {
				p[k] = v
			}
			if hc.pasteInto != "" {
				p[hc.pasteInto] = fl.secrets[0]
			}
			envl := map[string]any{"command": hc.command, "params": p, "args": hc.args}
			if hc.ictx && stored != nil {
				envl["integrationContext"] = stored
			}
			if hc.name == "bad lastRun" {
				envl["lastRun"] = map[string]any{"version": 99}
			}
			raw, _ := json.Marshal(envl)
			hc.setup(srv)
			var stdout, stderr bytes.Buffer
			code := run(fake, []string{"--log-level", "debug"}, bytes.NewReader(raw), &stdout, &stderr, func(string) string { return "" })
			srv.ClearFaults()
			srv.FailTokens(emulator.TokenOK)
			runs++
			name := fmt.Sprintf("%s/%s/%s", fl.name, hc.command, hc.name)
			var res map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Errorf("%s: stdout is not JSON (exit %d): %v\n%s", name, code, err, stdout.String())
				continue
			}
			ictx, _ := res["integrationContext"].(map[string]any)
			if len(ictx) > 0 && code == 0 && stored == nil {
				stored = ictx
			}
			delete(res, "integrationContext")
			noCtx, _ := json.Marshal(res)
			mu.Lock()
			tokens = append(tokens, tokensOf(ictx)...)
			mu.Unlock()
			outputs = append(outputs, output{name, stdout.String(), stderr.String(), string(noCtx), ictx})
			if code != 0 && code != 1 {
				t.Errorf("%s: exit %d", name, code)
			}
		}
	}
	if len(tokens) == 0 {
		t.Fatal("no run stored a token: the harness never reached a token endpoint")
	}
	if fake.Slept() == 0 {
		t.Error("no retry slept on the injected clock: the runs back off on another clock")
	}
	// Scan after all runs, so a token issued in a later run is also
	// looked for in earlier output.
	for _, fl := range flows {
		for _, o := range outputs {
			if !strings.HasPrefix(o.name, fl.name+"/") {
				continue
			}
			secrets := append(append([]string(nil), fl.secrets...), extra...)
			if s := findSecret(o.stdout, secrets); s != "" {
				t.Errorf("%s: stdout holds the param secret %s:\n%.3000s", o.name, s, o.stdout)
			}
			if s := findSecret(o.stderr, secrets); s != "" {
				t.Errorf("%s: stderr holds the param secret %s:\n%.3000s", o.name, s, o.stderr)
			}
			if s := findSecret(o.noCtx, tokens); s != "" {
				t.Errorf("%s: the result holds a token outside integrationContext %s:\n%.3000s", o.name, s, o.noCtx)
			}
			if s := findSecret(o.stderr, tokens); s != "" {
				t.Errorf("%s: stderr holds a token %s:\n%.3000s", o.name, s, o.stderr)
			}
			if strings.Contains(o.stdout, "goroutine ") {
				t.Errorf("%s: stdout holds a stack trace", o.name)
			}
		}
	}
	t.Logf("%d runs over %d flows, %d tokens issued and looked for", runs, len(flows), len(tokens))
}

// TestSecretHygieneBinary runs a sample of the cases through the built
// executable (its own process, environment without proxies), including a
// panic-free failure of every flow.
func TestSecretHygieneBinary(t *testing.T) {
	bin := testutil.BuildBinary(t)
	srv := emulator.NewTLSServer()
	defer srv.Close()
	srv.AddTenant("contoso")
	srv.Subscribe("contoso", "Audit.General")
	flows := hygieneFlows(t, srv)
	for _, fl := range flows {
		var stored map[string]any // integrationContext carried from run to run, as the engine does
		var tokens []string       // every token the flow's runs stored
		for _, c := range []struct {
			command string
			args    map[string]any
			fault   emulator.TokenFault
		}{
			{"test-module", nil, emulator.TokenOK},
			{"ms-management-activity-list-content", map[string]any{"content_type": "Audit.General"}, emulator.TokenOK},
			{"fetch-incidents", nil, emulator.TokenInvalidClient},
			{"ms-management-activity-list-subscriptions", nil, emulator.TokenDown},
		} {
			raw, _ := json.Marshal(map[string]any{"command": c.command, "params": fl.params, "args": c.args, "integrationContext": stored})
			srv.FailTokens(c.fault)
			cmd := exec.Command(bin, "--log-level", "debug")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			cmd.Stdin = bytes.NewReader(raw)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			srv.FailTokens(emulator.TokenOK)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			name := fl.name + "/" + c.command
			var res map[string]any
			if json.Unmarshal(stdout.Bytes(), &res) != nil || (code != 0 && code != 1) {
				t.Errorf("%s: exit %d, stdout %q", name, code, stdout.String())
				continue
			}
			if c.fault == emulator.TokenOK && code != 0 {
				t.Errorf("%s: exit %d, want 0: %s", name, code, stdout.String())
			}
			ictx, _ := res["integrationContext"].(map[string]any)
			if ictx != nil {
				stored = ictx
			}
			tokens = append(tokens, tokensOf(ictx)...)
			delete(res, "integrationContext")
			noCtx, _ := json.Marshal(res)
			if s := findSecret(stdout.String()+stderr.String(), fl.secrets); s != "" {
				t.Errorf("%s: the binary wrote the param secret %s", name, s)
			}
			if s := findSecret(string(noCtx)+stderr.String(), tokens); s != "" {
				t.Errorf("%s: the binary wrote a token outside integrationContext %s", name, s)
			}
			if !strings.Contains(stderr.String(), "level=DEBUG") {
				t.Errorf("%s: no debug log on stderr", name)
			}
		}
	}
	keys := make([]string, 0, len(flows))
	for _, f := range flows {
		keys = append(keys, f.name)
	}
	sort.Strings(keys)
	t.Logf("binary: flows %v", keys)
}

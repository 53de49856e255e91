package commands

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/testutil"
	"github.com/secops-go/ms-management-activity/params"
)

// This file holds the fuzz targets of the envelope decoder and the
// dispatcher, and the harness they share with faults_test.go and
// secrets_test.go: run one envelope the way main does (decode, Run with the
// real registry, encode), then check the protocol's invariants.

// errNoNetwork is what every outbound request of a fuzzed run gets.
var errNoNetwork = errors.New("fuzz: no network (the transport refuses every request)")

// noNetwork is a transport that refuses every request, so that a fuzzed
// command exercises its error paths and never leaves the machine.
type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) { return nil, errNoNetwork }

// allCommands is every command of the registry, in a fixed order (fuzz
// inputs pick one by index).
var allCommands = []string{
	CmdTestModule, CmdFetchIncidents, CmdStartSubscription, CmdStopSubscription,
	CmdListSubscriptions, CmdListContent, CmdGenerateLoginURL, CmdAuthReset,
}

// Planted secrets: distinctive values put into the secret params, so that
// any trace of them in stdout or the log is a leak.
const (
	plantClientSecret = "Pl4nted~ClientSecret.9f8e7d6c5b4a"
	plantThumbprint   = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
	plantAuthCode     = "0.PlantedAuthCode-AQABAAIAAAD--DLA3VO7QrddgJg7WevrAgABAAEAAAD"
	plantRefreshToken = "PlantedRefreshToken0123456789abcdefghijklmnopqrstuvwxyz"
	plantEncKey       = "PlantedEncKey-3q2+7w==-4c0ffee"
	// Tokens planted in integrationContext, as the reference integration
	// stores them (access_token, valid_until, current_refresh_token).
	plantStoredAccess  = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJ0aWQiOiJjb250b3NvIiwicGxhbnRlZCI6dHJ1ZX0.planted-access"
	plantStoredRefresh = "0.PlantedStoredRefreshToken-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

// plantedKey is a real RSA private key in PEM, planted as private_key.
var plantedKey = sync.OnceValue(func() string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(k)}))
})

func mustPKCS8(k *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return b
}

// secretForms are the forms of a secret that must never be written: the
// value, its base64 (std and URL, padded or not) and URL-encoded forms, and
// each line of a multi-line value (a PEM key) of 16 bytes or more.
func secretForms(s string) []string {
	s = strings.TrimSpace(s)
	if len(s) < 6 {
		return nil
	}
	out := []string{
		s,
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawStdEncoding.EncodeToString([]byte(s)),
		base64.URLEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s)),
		url.QueryEscape(s),
		url.PathEscape(s),
	}
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// leak returns the first form of a secret in secrets found in text, or "".
// The redaction placeholder is masked first, so that a secret such as
// "REDACTED" is not found in the placeholder that replaced it.
func leak(text string, secrets []string) (secret, form string) {
	text = strings.ReplaceAll(text, redact.Placeholder, "\x00")
	for _, s := range secrets {
		for _, f := range secretForms(s) {
			if strings.Contains(text, f) {
				return s, f
			}
		}
	}
	return "", ""
}

// runResult is one envelope's run, as main would have written it.
type runResult struct {
	stdout []byte
	code   int
	log    string
	out    *Output
}

// runEnvelope runs raw envelope bytes the way main.runProtocol does, with
// deps (nil: a run that cannot reach the network, on a fake clock), a
// debug-level log through the redaction handler, and a watchdog: a run that
// takes more than 30 s of wall time is a hang.
func runEnvelope(t testing.TB, raw []byte, deps *Deps) runResult {
	t.Helper()
	return runEnvelopeCtx(t, context.Background(), raw, deps)
}

// runEnvelopeCtx is runEnvelope with the command's context.
func runEnvelopeCtx(t testing.TB, ctx context.Context, raw []byte, deps *Deps) runResult {
	t.Helper()
	if deps == nil {
		deps = &Deps{}
	}
	d := *deps
	if d.Clock == nil {
		d.Clock = clock.NewFake(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	}
	if d.HTTPClient == nil {
		d.HTTPClient = func(p *params.Params) *http.Client {
			return &http.Client{Timeout: p.Timeout, Transport: noNetwork{}}
		}
	}
	if d.Secrets == nil {
		d.Secrets = &redact.Set{}
	}
	var logBuf testutil.SyncBuffer
	if d.Logger == nil {
		d.Logger = slog.New(d.Secrets.Handler(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	var res runResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		envl, err := ReadEnvelope(bytes.NewReader(raw))
		if err != nil {
			d.Logger.Error("unusable envelope", "error", err)
			res.out, res.code = ErrorOutput(err.Error()), ExitBadEnvelope
		} else {
			res.out, res.code = Run(ctx, envl, &d)
		}
	}()
	limit := 30 * time.Second
	if d, ok := ctx.Value(watchdogKey{}).(time.Duration); ok {
		limit = d
	}
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("the run did not finish within %s of wall time (hang?); envelope: %.500s", limit, raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res.out); err != nil {
		t.Fatalf("the output cannot be encoded as JSON: %v", err)
	}
	res.stdout = buf.Bytes()
	res.log = logBuf.String()
	return res
}

// watchdogKey is the context key of a run's wall-time limit (default 30 s).
type watchdogKey struct{}

// decodedResult is stdout decoded loosely, for the invariant checks.
type decodedResult struct {
	Results []struct {
		Type           *int   `json:"Type"`
		ContentsFormat string `json:"ContentsFormat"`
		Contents       any    `json:"Contents"`
		HumanReadable  string `json:"HumanReadable"`
	} `json:"results"`
	Incidents *[]json.RawMessage `json:"incidents"`
	LastRun   json.RawMessage    `json:"lastRun"`
}

// checkProtocol checks what docs/protocol.md promises of every run: one JSON
// value on stdout with a results list, exit 0/1/2, one error entry (Type 4,
// text) on exit 1 and 2, no lastRun on a failed fetch, no Go stack trace, no
// recovered panic, and no form of any of secrets in stdout or the log.
func checkProtocol(t testing.TB, command string, r runResult, secrets []string) decodedResult {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.stdout))
	var got decodedResult
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not a JSON result: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", r.stdout)
	}
	if got.Results == nil {
		t.Fatalf("stdout has no \"results\" list:\n%s", r.stdout)
	}
	switch r.code {
	case ExitOK:
		if command == CmdFetchIncidents && (got.Incidents == nil || len(got.LastRun) == 0) {
			t.Errorf("fetch-incidents exited 0 without incidents and lastRun:\n%s", r.stdout)
		}
	case ExitFailed, ExitBadEnvelope:
		if len(got.Results) != 1 || got.Results[0].Type == nil || *got.Results[0].Type != xcontext.TypeError || got.Results[0].ContentsFormat != xcontext.FormatText {
			t.Fatalf("exit %d without exactly one text error entry:\n%s", r.code, r.stdout)
		}
		msg, ok := got.Results[0].Contents.(string)
		if !ok || strings.TrimSpace(msg) == "" {
			t.Fatalf("exit %d with an empty or non-string error message:\n%s", r.code, r.stdout)
		}
		if len(got.LastRun) > 0 {
			t.Errorf("a failed run carries a lastRun (the engine would advance past undelivered data):\n%s", r.stdout)
		}
	default:
		t.Fatalf("exit code %d, want 0, 1 or 2", r.code)
	}
	if bytes.Contains(r.stdout, []byte("goroutine ")) || bytes.Contains(r.stdout, []byte(".go:")) {
		t.Errorf("stdout holds a Go stack trace or source position:\n%s", r.stdout)
	}
	if bytes.Contains(r.stdout, []byte("this is a bug, please report it")) {
		t.Errorf("a handler panicked (recovered):\n%s\nlog:\n%s", r.stdout, r.log)
	}
	if s, f := leak(string(r.stdout), secrets); s != "" {
		t.Errorf("stdout leaks secret %.40q (as %.40q):\n%s", s, f, r.stdout)
	}
	if s, f := leak(r.log, secrets); s != "" {
		t.Errorf("the log leaks secret %.40q (as %.40q):\n%s", s, f, r.log)
	}
	return got
}

// errorMessage returns the error entry's message of a failed run.
func (d decodedResult) errorMessage() string {
	if len(d.Results) == 1 && d.Results[0].Type != nil && *d.Results[0].Type == xcontext.TypeError {
		s, _ := d.Results[0].Contents.(string)
		return s
	}
	return ""
}

// goldenEnvelopes returns the envelopes of testdata/golden, as fuzz seeds.
func goldenEnvelopes(f *testing.F) [][]byte {
	f.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "golden", "*", "envelope.json"))
	sort.Strings(paths)
	var out [][]byte
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// plantedParams are params that configure every secret with a planted value.
func plantedParams(selfDeployed bool) map[string]any {
	return map[string]any{
		"credentials_auth_id":                map[string]any{"identifier": "", "password": "00000000-aaaa-bbbb-cccc-000000000001"},
		"credentials_refresh_token":          map[string]any{"identifier": "", "password": plantRefreshToken},
		"credentials_enc_key":                map[string]any{"identifier": "", "password": plantClientSecret},
		"credentials_certificate_thumbprint": map[string]any{"identifier": "", "password": plantThumbprint},
		"credentials_auth_code":              map[string]any{"identifier": "", "password": plantAuthCode},
		"private_key":                        plantedKey(),
		"enc_key":                            plantEncKey,
		"self_deployed":                      selfDeployed,
		"redirect_uri":                       "https://localhost/callback",
	}
}

// plantedSecrets is every planted value.
func plantedSecrets() []string {
	return []string{plantClientSecret, plantThumbprint, plantAuthCode, plantRefreshToken, plantEncKey, plantedKey()}
}

// FuzzEnvelope feeds arbitrary bytes to the envelope decoder and, when they
// decode, to the dispatcher with the real registry (and no network).
func FuzzEnvelope(f *testing.F) {
	for _, b := range goldenEnvelopes(f) {
		f.Add(b)
	}
	for _, cmd := range allCommands {
		b, _ := json.Marshal(map[string]any{"command": cmd, "params": plantedParams(true), "args": map[string]any{}, "lastRun": map[string]any{}, "integrationContext": map[string]any{}})
		f.Add(b)
	}
	f.Add([]byte(`{"command":"fetch-incidents","params":{"isFetch":true,"first_fetch_delta":"3 days","content_types_to_fetch":"Audit.General,DLP.All"},"lastRun":{"last_fetch":"2026-11-28T10:00:00Z"}}`))
	f.Add([]byte(`{"command":"ms-management-activity-list-content","params":{},"args":{"content_type":"Audit.General","start_time":"2 hours ago","end_time":"now","limit":"5"}}`))
	f.Add([]byte(`{"command":"test-module","params":{"timeout":"1e400"}}`))
	f.Add([]byte(`{"command":"test-module","lastRun":null,"params":null,"args":null,"integrationContext":null}`))
	f.Add([]byte("\ufeff{\"command\":\"test-module\"}"))
	f.Add([]byte(`{"command":"test-module","command":"fetch-incidents"}`))
	f.Add([]byte(`{"command":"\u0000"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var secrets []string
		var envl struct {
			Command string         `json:"command"`
			Params  map[string]any `json:"params"`
		}
		if json.Unmarshal(raw, &envl) == nil {
			secrets = paramSecrets(envl.Params)
		}
		r := runEnvelope(t, raw, nil)
		got := checkProtocol(t, envl.Command, r, nil)
		if r.code == ExitFailed {
			// Every byte of an exit-1 message passes through the
			// redaction set, so no secret of the params may survive.
			if s, fm := leak(got.errorMessage(), secrets); s != "" {
				t.Errorf("the error message leaks the secret param value %q (as %q): %s", s, fm, got.errorMessage())
			}
		}
	})
}

// paramSecrets lists the secret values in raw params, independently of the
// code under test: every string under a secret param name (credentials
// objects' password included). "Token or Tenant ID" is a secret unless the
// params decode as self-deployed (or managed identities), where it is the
// tenant ID.
func paramSecrets(raw map[string]any) []string {
	var out []string
	names := []string{"credentials_enc_key", "enc_key", "credentials_certificate_thumbprint", "certificate_thumbprint",
		"private_key", "credentials_auth_code", "auth_code"}
	if p, err := params.Decode(raw); err != nil || !p.SelfDeployed {
		names = append(names, "credentials_refresh_token", "refresh_token")
	}
	for _, name := range names {
		switch v := raw[name].(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			if s, ok := v["password"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// FuzzDispatch runs every command with fuzzed params, args, lastRun and
// integrationContext, each secret param set to a planted value or left to
// the fuzzer, and checks that no planted secret appears anywhere (stdout at
// any exit code, the debug log) and no fuzzed one in an error message.
func FuzzDispatch(f *testing.F) {
	type seed struct {
		cmd                         uint8
		plant                       uint16
		params, args, lastRun, ictx string
	}
	seeds := []seed{
		{0, 0xffff, `{}`, `{}`, `{}`, `{}`},
		{4, 0x2000 | 0x003f, `{"self_deployed":false}`, `{}`, `{}`, `{}`},
		{5, 0x2000 | 0x803f, `{}`, `{"content_type":"Audit.General"}`, `{}`, `{"auth":{"flow":"client_credentials"}}`},
		{1, 0xffff, `{"isFetch":"true","first_fetch_delta":"1 day","max_fetch":"5"}`, `{}`, `{"cursors":{}}`, `{}`},
		{1, 0x00ff, `{"first_fetch_delta":"ten minutes"}`, `{}`, `{"last_fetch":"2026-11-28T10:00:00"}`, `{}`},
		{5, 0xffff, `{}`, `{"content_type":"Audit.General","start_time":"2026-11-28T10:00:00","end_time":"2026-11-28T09:00:00"}`, `{}`, `{}`},
		{5, 0xffff, `{}`, `{"content_type":"audit.general","start_time":"3 days ago","limit":"100001"}`, `{}`, `{}`},
		{2, 0xffff, `{"self_deployed":true}`, `{"content_type":"DLP.All"}`, `{}`, `{"access_token":"x","valid_until":1}`},
		{6, 0xffff, `{"self_deployed":"true","redirect_uri":"https://localhost/x"}`, `{}`, `{}`, `{}`},
		{7, 0xffff, `{}`, `{}`, `{}`, `{"refresh_token":"` + plantRefreshToken + `"}`},
		{0, 0x0001, `{"use_managed_identities":true,"managed_identities_client_id":{"password":"mi"}}`, `{}`, `{}`, `{}`},
		{0, 0, `{"credentials_enc_key":{"password":["SuperSecretValue123"]}}`, `{}`, `{}`, `{}`},
		{0, 0, `{"credentials_enc_key":"secret-as-string-123","base_url":"secret-as-string-123"}`, `{}`, `{}`, `{}`},
		{4, 0xffff, `{"base_url":"http://10.0.0.1/api","insecure":1,"proxy":"yes"}`, `{}`, `{}`, `{}`},
		{3, 0xffff, `{"timeout":"0.5"}`, `{"content_type":["Audit.Exchange"]}`, `{}`, `{}`},
	}
	for _, s := range seeds {
		f.Add(s.cmd, s.plant, []byte(s.params), []byte(s.args), []byte(s.lastRun), []byte(s.ictx))
	}
	f.Fuzz(func(t *testing.T, cmd uint8, plant uint16, rawParams, rawArgs, rawLastRun, rawIctx []byte) {
		command := allCommands[int(cmd)%len(allCommands)]
		p := map[string]any{}
		_ = json.Unmarshal(rawParams, &p)
		if p == nil {
			p = map[string]any{}
		}
		planted := plantedParams(plant&(1<<15) != 0)
		names := []string{"credentials_refresh_token", "credentials_enc_key", "credentials_certificate_thumbprint",
			"credentials_auth_code", "private_key", "enc_key"}
		var plantedVals []string
		for i, name := range names {
			if plant&(1<<i) == 0 {
				continue
			}
			v := planted[name]
			if plant&(1<<(i+8)) != 0 { // the plain-string form of a credentials param
				if m, ok := v.(map[string]any); ok {
					v = m["password"]
				}
			}
			p[name] = v
		}
		if plant&(1<<14) != 0 {
			p["credentials_auth_id"] = planted["credentials_auth_id"]
		}
		// The planted values that are secrets in this configuration.
		for _, s := range paramSecrets(p) {
			for _, pv := range plantedSecrets() {
				if s == pv {
					plantedVals = append(plantedVals, s)
				}
			}
		}
		envl := map[string]any{"command": command, "params": p}
		var args map[string]any
		if json.Unmarshal(rawArgs, &args) == nil && args != nil {
			envl["args"] = args
		}
		if json.Valid(rawLastRun) {
			envl["lastRun"] = json.RawMessage(rawLastRun)
		}
		var ictx map[string]any
		if json.Unmarshal(rawIctx, &ictx) == nil && ictx != nil {
			envl["integrationContext"] = ictx
		}
		var tokens []string // planted stored tokens: allowed only inside integrationContext
		if plant&(1<<13) != 0 {
			if ictx == nil {
				ictx = map[string]any{}
			}
			ictx["access_token"], ictx["valid_until"], ictx["current_refresh_token"] = plantStoredAccess, 4102444800, plantStoredRefresh
			envl["integrationContext"] = ictx
			tokens = []string{plantStoredAccess, plantStoredRefresh}
		}
		raw, err := json.Marshal(envl)
		if err != nil {
			t.Skip()
		}
		r := runEnvelope(t, raw, nil)
		got := checkProtocol(t, command, r, plantedVals)
		if len(tokens) > 0 {
			out := *r.out
			out.IntegrationContext = nil
			b, _ := json.Marshal(out)
			if s, fm := leak(string(b)+r.log, tokens); s != "" {
				t.Errorf("a stored token (%q as %q) appears outside integrationContext:\n%s\n%s", s, fm, b, r.log)
			}
		}
		if r.code == ExitFailed {
			if s, fm := leak(got.errorMessage(), paramSecrets(p)); s != "" {
				t.Errorf("the error message leaks the secret param value %q (as %q): %s", s, fm, got.errorMessage())
			}
		}
	})
}

// TestEnvelopeCap checks the 64 MiB envelope cap and its message, and that a
// envelope just under the cap is read.
func TestEnvelopeCap(t *testing.T) {
	over := bytes.Repeat([]byte(" "), MaxEnvelopeBytes+1)
	_, err := ReadEnvelope(bytes.NewReader(over))
	if err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Fatalf("over the cap: err = %v, want a message naming 64 MiB", err)
	}
	under := append([]byte(`{"command":"test-module","params":{"x":"`), bytes.Repeat([]byte("a"), MaxEnvelopeBytes-64)...)
	under = append(under, `"}}`...)
	envl, err := ReadEnvelope(bytes.NewReader(under))
	if err != nil || envl.Command != "test-module" {
		t.Fatalf("just under the cap: err = %v", err)
	}
}

// fuzzNow is the clock of FuzzTimeArgs.
var fuzzNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// FuzzTimeArgs fuzzes list-content's start_time/end_time parser. An
// accepted range starts before it ends, no more than 7 days back, in UTC,
// and splits into a bounded number of 24-hour listing windows (8 for 7
// days); a refused one names the argument at fault.
func FuzzTimeArgs(f *testing.F) {
	for _, p := range [][2]string{
		{"", ""}, {"2026-11-28T10:00:00", "2026-11-28T11:00:00"}, {"2026-11-28T10:00:00", ""}, {"", "2026-11-28T11:00:00"},
		{"2026-11-28T10:00", "2026-11-28"}, {"2026-11-28T10:00:00Z", "2026-11-28T12:00:00+01:00"}, {"2026-11-21T12:00:00", "2026-11-28T12:00:00"},
		{"2026-11-21T11:59:59", "2026-11-28T12:00:00"}, {"2026-11-28T10:00:00.123456789", "2026-11-28T10:00:00.5"},
		{"2026-11-28T11:00:00", "2026-11-28T10:00:00"}, {"2026-11-28T11:00:00", "2026-11-28T11:00:00"}, {"yesterday", "now"},
		{"2026-11-28T10:00:00", "2026-11-29T10:00:00"}, {"2026-11-28T10:00:00+14:00", "2026-11-28T10:00:00-12:00"},
		{" 2026-11-28T10:00:00 ", "2026-13-01T00:00:00"}, {"2026-11-28T10:00:00", "2026-11-28T10:00:00.999999999"},
		{"2027-01-01", "2100-01-10"}, {"2026-11-28T10:00:00", "9999-12-31T23:59:59"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, startArg, endArg string) {
		env := &Env{Args: NewArgs(map[string]any{"start_time": startArg, "end_time": endArg})}
		start, end, err := timeRangeArgs(env, fuzzNow)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "start_time") && !strings.Contains(msg, "end_time") {
				t.Fatalf("error %q names neither start_time nor end_time", msg)
			}
			return
		}
		if !start.Before(end) {
			t.Fatalf("accepted start %v not before end %v", start, end)
		}
		if start.Location() != time.UTC || end.Location() != time.UTC {
			t.Fatalf("times not in UTC: %v %v", start, end)
		}
		if start.Before(fuzzNow.Add(-7 * 24 * time.Hour)) {
			t.Fatalf("accepted start %v more than 7 days before %v", start, fuzzNow)
		}
		// Every window is one API request (at least): an end far in the
		// future must not turn one call into thousands of requests.
		if n := windowCount(start, end); n > 8 {
			t.Fatalf("start_time=%q end_time=%q accepted as %v – %v: %d listing windows of 24 h (one request each at least); want at most 8 (end_time clamped to now or refused)", startArg, endArg, start, end, n)
		}
	})
}

// windowCount is len(activity.SplitWindow(start, end)) without building the
// list (which, for an end in year 9999, would take gigabytes).
func windowCount(start, end time.Time) int64 {
	s, e := start.Truncate(time.Second), end.Truncate(time.Second)
	if !s.Before(e) {
		return 0
	}
	d := e.Sub(s)
	n := int64(d / (24 * time.Hour))
	if d%(24*time.Hour) != 0 {
		n++
	}
	if e.Sub(s) == time.Duration(1<<63-1) { // saturated: more than 292 years
		return 1 << 62
	}
	return n
}

// TestTimeArgsFarFuture: list-content accepts a start_time and end_time in
// the future, however far; the client then lists the range in 24-hour
// windows, one request each at least: start_time=2027-01-01
// end_time=2100-01-10 is 26,672 requests for a range where no content can
// exist. Expected: an end_time after now is clamped to now (or refused), a
// start_time after now is refused. Found by FuzzTimeArgs.
func TestTimeArgsFarFuture(t *testing.T) {
	for _, tc := range [][2]string{
		{"2027-01-01", "2100-01-10"},
		{"2026-11-28T10:00:00", "9999-12-31T23:59:59"},
	} {
		env := &Env{Args: NewArgs(map[string]any{"start_time": tc[0], "end_time": tc[1]})}
		start, end, err := timeRangeArgs(env, fuzzNow)
		if err != nil {
			continue
		}
		if n := windowCount(start, end); n > 8 {
			t.Errorf("start_time=%s end_time=%s accepted as %s – %s: %d listing windows; want end_time clamped to now (%s) or refused",
				tc[0], tc[1], start.Format(time.RFC3339), end.Format(time.RFC3339), n, fuzzNow.Format(time.RFC3339))
		}
	}
}

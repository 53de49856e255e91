package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/internal/testutil"
	"github.com/secops-go/ms-management-activity/internal/version"
)

// cliRun is one command line run in-process.
type cliRun struct {
	code           int
	stdout, stderr string
}

// runCLI runs the human command line with the given environment; tty
// injects "stdout and stderr are terminals".
func runCLI(t *testing.T, env map[string]string, tty bool, argv ...string) cliRun {
	t.Helper()
	var out, errb testutil.SyncBuffer
	streams := &Streams{Out: &out, Err: &errb, OutTTY: tty, ErrTTY: tty, Width: 120}
	code := Run(context.Background(), argv, streams, testConfig(t, func(k string) string { return env[k] }))
	return cliRun{code, out.String(), errb.String()}
}

// testConfig is the Config main passes, with the repository's
// integration.yml (main embeds the same file) and getenv.
func testConfig(t testing.TB, getenv func(string) string) Config {
	return Config{Spec: testCatalog(t).Integration, Getenv: getenv, Secrets: &redact.Set{}}
}

// testCatalog is the commands of the repository's integration.yml.
func testCatalog(t testing.TB) catalog {
	t.Helper()
	data, err := os.ReadFile("../../integration.yml")
	if err != nil {
		t.Fatal(err)
	}
	in, err := spec.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return catalog{in}
}

// emulatorFixture is a TLS emulator with the demo tenant and a params file
// pointing at it; the client secret is only in env.
type emulatorFixture struct {
	srv    *emulator.Server
	tenant *demoTenant
	params string
	env    map[string]string
}

func newEmulatorFixture(t *testing.T, format string) *emulatorFixture {
	t.Helper()
	srv := emulator.NewTLSServer()
	t.Cleanup(srv.Close)
	d := seedDemoTenant(srv)
	dir := t.TempDir()
	f := &emulatorFixture{srv: srv, tenant: d, env: map[string]string{"MSMA_CLIENT_SECRET": d.secret}}
	switch format {
	case "json":
		p := map[string]any{
			"base_url":                  srv.BaseURL(),
			"authority_url":             srv.URL,
			"self_deployed":             "true", // engines send strings too
			"insecure":                  true,
			"credentials_auth_id":       map[string]any{"identifier": "", "password": d.clientID},
			"credentials_refresh_token": d.tenant,
			"content_types_to_fetch":    []string{"Audit.General", "Audit.Exchange"},
			"first_fetch_delta":         "1 day",
			"max_fetch":                 "300",
		}
		b, _ := json.Marshal(p)
		f.params = filepath.Join(dir, "params.json")
		if err := os.WriteFile(f.params, b, 0o600); err != nil {
			t.Fatal(err)
		}
	default:
		f.params = filepath.Join(dir, "params.yml")
		if err := os.WriteFile(f.params, []byte(d.paramsYAML(true)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// noSecrets fails when a secret from the environment shows in any output.
func noSecrets(t *testing.T, r cliRun, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("a secret from the environment appears in the output:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	}
}

func TestHelpFromIntegrationYML(t *testing.T) {
	r := runCLI(t, nil, false, "help")
	if r.code != 0 {
		t.Fatalf("help: code %d, stderr %s", r.code, r.stderr)
	}
	cat := testCatalog(t)
	for _, c := range cat.Script.Commands {
		if !strings.Contains(r.stdout, "  "+shortName(c.Name)+" ") {
			t.Errorf("help does not list %s", c.Name)
		}
		if examples[c.Name] == "" {
			t.Errorf("no example for %s", c.Name)
		}
		// help COMMAND, by short and by full name, has every argument and
		// predefined value.
		for _, name := range []string{shortName(c.Name), c.Name} {
			hc := runCLI(t, nil, false, "help", name)
			if hc.code != 0 {
				t.Fatalf("help %s: code %d", name, hc.code)
			}
			for _, a := range c.Arguments {
				if !strings.Contains(hc.stdout, "  "+a.Name) {
					t.Errorf("help %s lacks argument %s", name, a.Name)
				}
				for _, p := range a.Predefined {
					if !strings.Contains(strings.Join(strings.Fields(hc.stdout), " "), p) {
						t.Errorf("help %s lacks predefined value %s", name, p)
					}
				}
			}
			if !strings.Contains(hc.stdout, c.Description[:min(30, len(c.Description))]) {
				t.Errorf("help %s lacks the description", name)
			}
		}
	}
	for _, b := range builtinCommands {
		if !strings.Contains(r.stdout, "  "+b.name+" ") || examples[b.name] == "" {
			t.Errorf("help lacks %s or its example", b.name)
		}
	}
	if got := runCLI(t, nil, false, "list-content", "--help"); got.code != 0 || !strings.Contains(got.stdout, "record_types_filter") {
		t.Errorf("list-content --help: %+v", got)
	}
	hp := runCLI(t, nil, false, "help", "params")
	for _, p := range cat.Configuration {
		if !strings.Contains(hp.stdout, "  "+p.Name+" (") {
			t.Errorf("help params lacks %s", p.Name)
		}
	}
	he := runCLI(t, nil, false, "help", "env")
	for _, e := range envParams {
		if !strings.Contains(he.stdout, e.Env) {
			t.Errorf("help env lacks %s", e.Env)
		}
	}
	if got := runCLI(t, nil, false, "help", "lst-content"); got.code != 2 || !strings.Contains(got.stderr, `did you mean "list-content"`) {
		t.Errorf("help of a misspelled command: %+v", got)
	}
}

func TestCommandLineMistakes(t *testing.T) {
	tests := []struct {
		argv []string
		want []string
	}{
		{[]string{"list-contnet"}, []string{`unknown command "list-contnet"`, `did you mean "list-content"`}},
		{[]string{"list-content", "content_typ=Audit.General"}, []string{`unknown argument "content_typ"`, "did you mean content_type?"}},
		{[]string{"list-content", "content_type=Audit.Genral"}, []string{"content_type=Audit.Genral is not a valid value", "did you mean Audit.General?"}},
		{[]string{"list-content"}, []string{"list-content needs the argument content_type", "content_type=Audit.AzureActiveDirectory"}},
		{[]string{"list-subscriptions", "limit=3"}, []string{"list-subscriptions takes no arguments"}},
		{[]string{"fetch-incidents", "limit=3"}, []string{"fetch-incidents takes no arguments"}},
		{[]string{"list-content", "content_type=Audit.General", "content_type=DLP.All"}, []string{"given twice"}},
		{[]string{"list-content", "Audit.General"}, []string{`unexpected argument "Audit.General"`, "name=value"}},
		{[]string{"test-module", "--parms", "x.yml"}, []string{"unknown flag --parms", "did you mean --params?"}},
		{[]string{"test-module", "--params"}, []string{"--params needs a value"}},
		{[]string{"test-module", "--params", "/nonexistent/params.yml"}, []string{"cannot read the params file"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			r := runCLI(t, nil, false, tc.argv...)
			if r.code != commands.ExitBadEnvelope {
				t.Errorf("code = %d, want 2", r.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if !strings.Contains(r.stderr, "Hint: ") && !strings.Contains(r.stderr, "--params needs") {
				t.Errorf("no hint:\n%s", r.stderr)
			}
		})
	}
}

func TestParamsFileChecks(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "p.yml")
	os.WriteFile(bad, []byte("base_ulr: https://manage.office.com/api/v1.0/\n"), 0o600)
	r := runCLI(t, nil, false, "test-module", "--params", bad)
	if r.code != 2 || !strings.Contains(r.stderr, `unknown parameter "base_ulr"`) || !strings.Contains(r.stderr, "did you mean base_url?") {
		t.Errorf("misspelled parameter: %+v", r)
	}
	notYAML := filepath.Join(dir, "p.json")
	os.WriteFile(notYAML, []byte(`{"base_url": `), 0o600)
	if r := runCLI(t, nil, false, "test-module", "--params", notYAML); r.code != 2 || !strings.Contains(r.stderr, "is not a JSON object of parameters") {
		t.Errorf("broken JSON: %+v", r)
	}
	if r := runCLI(t, map[string]string{"MSMA_TENANT_ID": "t", "MSMA_TOKEN": "x"}, false, "test-module"); r.code != 2 || !strings.Contains(r.stderr, "both MSMA_TENANT_ID and MSMA_TOKEN") {
		t.Errorf("conflicting env: %+v", r)
	}
	// A params error from the dispatcher: exit 1 with a hint naming the file.
	badTimeout := filepath.Join(dir, "t.yml")
	os.WriteFile(badTimeout, []byte("timeout: soon\n"), 0o600)
	r = runCLI(t, nil, false, "list-subscriptions", "--params", badTimeout)
	if r.code != 1 || !strings.Contains(r.stderr, "invalid parameter timeout") || !strings.Contains(r.stderr, "Hint: fix it in "+badTimeout) {
		t.Errorf("bad timeout: %+v", r)
	}
}

func TestLoadParamsEnvironment(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"), 0o600)
	pf := filepath.Join(dir, "p.yml")
	os.WriteFile(pf, []byte("credentials_enc_key: from-the-file\nself_deployed: true\n"), 0o600)
	env := map[string]string{
		"MSMA_CLIENT_ID": "cid", "MSMA_CLIENT_SECRET": "s3cret-from-env", "MSMA_TENANT_ID": "tid",
		"MSMA_AUTH_CODE": "code-123456", "MSMA_CERTIFICATE_THUMBPRINT": "AB12CD34EF", "MSMA_PRIVATE_KEY_FILE": key,
		"MSMA_MANAGED_IDENTITIES_CLIENT_ID": "mi-id",
	}
	p, secrets, err := loadParams(testCatalog(t), pf, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"credentials_auth_id": "cid", "credentials_enc_key": "s3cret-from-env", "credentials_refresh_token": "tid",
		"credentials_auth_code": "code-123456", "credentials_certificate_thumbprint": "AB12CD34EF",
		"managed_identities_client_id": "mi-id", "self_deployed": true,
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	if !strings.Contains(p["private_key"].(string), "BEGIN PRIVATE KEY") {
		t.Error("MSMA_PRIVATE_KEY_FILE was not read")
	}
	for _, s := range []string{"s3cret-from-env", "code-123456", "AB12CD34EF"} {
		if !slices.Contains(secrets, s) {
			t.Errorf("secret %s not registered for redaction", s)
		}
	}
	if slices.Contains(secrets, "cid") || slices.Contains(secrets, "tid") {
		t.Error("IDs are not secrets")
	}
}

// TestHumanCLIAgainstEmulator drives the command line end to end: params
// file (JSON and YAML), name=value args, --json, --state across commands,
// exit codes, and no secret from the environment in any output.
func TestHumanCLIAgainstEmulator(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			f := newEmulatorFixture(t, format)
			state := filepath.Join(t.TempDir(), "state")

			r := runCLI(t, f.env, false, "test-module", "--params", f.params, "--state", state)
			noSecrets(t, r, f.tenant.secret)
			if r.code != 0 || r.stdout != "ok\n" {
				t.Fatalf("test-module: %+v", r)
			}
			// The token cache is kept in the state folder, mode 0600.
			st, err := os.Stat(filepath.Join(state, integrationContextFile))
			if err != nil {
				t.Fatalf("integrationContext.json not written: %v", err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("integrationContext.json mode %v, want 0600", st.Mode().Perm())
			}
			ictx, _ := os.ReadFile(filepath.Join(state, integrationContextFile))
			if strings.Contains(string(ictx), f.tenant.secret) {
				t.Error("the client secret was written to the state")
			}

			r = runCLI(t, f.env, false, "ms-management-activity-list-subscriptions", "--params", f.params, "--state", state)
			noSecrets(t, r, f.tenant.secret)
			if r.code != 0 || !strings.Contains(r.stdout, "| Audit.Exchange |") || strings.Contains(r.stdout, "DLP.All") {
				t.Fatalf("list-subscriptions: %+v", r)
			}

			r = runCLI(t, f.env, false, "list-content", "content_type=audit.exchange", "record_types_filter=ExchangeAdmin", "limit=5", "--params", f.params, "--state", state)
			noSecrets(t, r, f.tenant.secret)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "### Content for content type Audit.Exchange\n|ID|") || strings.Count(r.stdout, "\n| ") != 5 {
				t.Fatalf("list-content (verbatim markdown off a terminal): %+v", r)
			}

			r = runCLI(t, f.env, false, "list-content", "content_type=Audit.Exchange", "limit=3", "--json", "--params", f.params)
			noSecrets(t, r, f.tenant.secret)
			var out commands.Output
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
				t.Fatalf("--json is not the result: %v %+v", err, r)
			}
			if len(out.Results) == 0 || out.Results[0].EntryContext == nil {
				t.Errorf("--json lacks the entry context: %s", r.stdout)
			}

			// A failing command: exit 1, the message and a hint on stderr.
			r = runCLI(t, f.env, false, "list-content", "content_type=DLP.All", "--params", f.params)
			noSecrets(t, r, f.tenant.secret)
			if r.code != 1 || !strings.Contains(r.stderr, "Error: Failed to execute ms-management-activity-list-content command") || !strings.Contains(r.stderr, "AF20022") {
				t.Errorf("list-content of an unsubscribed type: %+v", r)
			}

			// A wrong secret in the environment: exit 1, and the wrong
			// secret is not echoed either.
			wrong := map[string]string{"MSMA_CLIENT_SECRET": "wrong-secret-value-123"}
			r = runCLI(t, wrong, false, "test-module", "--params", f.params)
			noSecrets(t, r, "wrong-secret-value-123")
			if r.code != 1 || !strings.Contains(r.stderr, "Error: ") {
				t.Errorf("wrong secret: %+v", r)
			}
		})
	}
}

// TestFetchStatePersists runs fetch-incidents twice with --state: the
// second run continues from the first (no record twice), lastRun.json is
// written atomically with mode 0600.
func TestFetchStatePersists(t *testing.T) {
	f := newEmulatorFixture(t, "json") // max_fetch 300
	state := filepath.Join(t.TempDir(), "state")
	var ids [][]string
	for i := range 2 {
		r := runCLI(t, f.env, false, "fetch-incidents", "--json", "--params", f.params, "--state", state)
		noSecrets(t, r, f.tenant.secret)
		if r.code != 0 {
			t.Fatalf("fetch %d: %+v", i+1, r)
		}
		var out commands.Output
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Incidents == nil || out.LastRun == nil {
			t.Fatalf("fetch %d: not a fetch result: %v\n%s", i+1, err, r.stdout)
		}
		var run []string
		for _, inc := range *out.Incidents {
			run = append(run, incidentRecordID(inc))
		}
		ids = append(ids, run)
		st, err := os.Stat(filepath.Join(state, lastRunFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("lastRun.json after fetch %d: %v %v", i+1, err, st)
		}
		saved, _ := os.ReadFile(filepath.Join(state, lastRunFile))
		want, _ := json.Marshal(out.LastRun)
		var a, b any
		json.Unmarshal(saved, &a)
		json.Unmarshal(want, &b)
		if !jsonEqual(a, b) {
			t.Errorf("lastRun.json differs from the result's lastRun")
		}
	}
	if len(ids[0]) != 300 || len(ids[1]) == 0 {
		t.Errorf("incidents per run: %d, %d; want 300 then more", len(ids[0]), len(ids[1]))
	}
	seen := map[string]bool{}
	for _, run := range ids {
		for _, id := range run {
			if seen[id] {
				t.Fatalf("record %s delivered twice", id)
			}
			seen[id] = true
		}
	}
	entries, _ := os.ReadDir(state)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left in the state folder: %s", e.Name())
		}
	}
	// Human output of a fetch: the incidents and the lastRun summary.
	r := runCLI(t, f.env, false, "fetch-incidents", "--params", f.params, "--state", state)
	if r.code != 0 || !strings.Contains(r.stdout, "### Fetched ") || !strings.Contains(r.stdout, "### lastRun") {
		t.Errorf("fetch human output: %+v", r)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestStateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "x.json")
	if err := writeFileAtomic(path, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(path, []byte(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(b) != `{"a":2}` || st.Mode().Perm() != 0o600 {
		t.Errorf("got %s mode %v", b, st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left files behind: %v", entries)
	}
	// A corrupt state file is refused with a hint, not overwritten.
	os.WriteFile(filepath.Join(dir, lastRunFile), []byte("[]"), 0o600)
	r := runCLI(t, nil, false, "fetch-incidents", "--state", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "is not a JSON object") || !strings.Contains(r.stderr, "delete it to start over") {
		t.Errorf("corrupt lastRun.json: %+v", r)
	}
}

func TestRenderTerminalTables(t *testing.T) {
	md := "### Title\n|ID|Name|\n|---|---|\n| 1 | a \\| b |\n| 22 | long<br>text |\n**No entries.**\n"
	got := renderTerminal(md, 80)
	want := "\x1b[1mTitle\x1b[0m\n\x1b[1mID  Name\x1b[0m\n──  ─────────\n1   a | b\n22  long text\n\x1b[1mNo entries.\x1b[0m\n"
	if got != want {
		t.Errorf("renderTerminal:\n%q\nwant\n%q", got, want)
	}
	// Narrow terminals shorten the widest column.
	got = renderTerminal("|A|B|\n|---|---|\n| "+strings.Repeat("x", 50)+" | y |\n", 30)
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		if n := len([]rune(strings.NewReplacer("\x1b[1m", "", "\x1b[0m", "").Replace(l))); n > 30 {
			t.Errorf("line %q is %d wide", l, n)
		}
	}
	if !strings.Contains(got, "…") {
		t.Errorf("no ellipsis: %q", got)
	}
	tr := truncateTables("|A|\n|---|\n| 1 |\n| 2 |\n| 3 |\ntail\n", 2)
	if tr != "|A|\n|---|\n| 1 |\n| 2 |\n_… and 1 more rows (3 in all; --max-rows 0 or --json shows them all)_\ntail\n" {
		t.Errorf("truncateTables: %q", tr)
	}
}

func TestTerminalRenderingOnlyOnATerminal(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	args := []string{"list-subscriptions", "--params", f.params}
	plain := runCLI(t, f.env, false, args...)
	tty := runCLI(t, f.env, true, args...)
	if plain.code != 0 || tty.code != 0 {
		t.Fatalf("%+v %+v", plain, tty)
	}
	if !strings.Contains(plain.stdout, "|---|") || strings.Contains(plain.stdout, "\x1b[") {
		t.Errorf("off a terminal the markdown is printed verbatim: %q", plain.stdout)
	}
	if strings.Contains(tty.stdout, "|---|") || !strings.Contains(tty.stdout, "Audit.Exchange") {
		t.Errorf("on a terminal tables are rendered: %q", tty.stdout)
	}
}

// TestVersion: "version" and "--version" print the release, the commit and
// the Go version from the binary's build information, on stdout, exit 0.
func TestVersion(t *testing.T) {
	want := version.Get().String()
	for _, argv := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, nil, false, argv...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != want || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", argv, r.code, r.stdout, r.stderr, want)
		}
		if !strings.Contains(r.stdout, version.Release) || !strings.Contains(r.stdout, runtime.Version()) {
			t.Errorf("%v: %q lacks the release %s or the Go version %s", argv, r.stdout, version.Release, runtime.Version())
		}
	}
}

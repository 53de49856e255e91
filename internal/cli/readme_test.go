package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's generated parameter table")

const (
	paramsBegin = "<!-- parameters:begin (generated from integration.yml by TestREADMEParameters; go test ./internal/cli -run TestREADMEParameters -update-readme) -->"
	paramsEnd   = "<!-- parameters:end -->"
)

// readmePath is the project's README, from this package's folder.
const readmePath = "../../README.md"

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parametersTable renders every parameter of integration.yml as the
// README's markdown table.
func parametersTable(c catalog) string {
	var b strings.Builder
	b.WriteString("| Parameter | Shown as | Type | Default | Notes |\n|---|---|---|---|---|\n")
	for _, p := range c.Configuration {
		def := ""
		if p.Default != "" {
			def = "`" + p.Default + "`"
		}
		var notes []string
		if p.Hidden {
			notes = append(notes, "Hidden, legacy: used when its `credentials_*` twin is empty.")
		}
		if p.Advanced {
			notes = append(notes, "Advanced.")
		}
		if p.Info != "" {
			notes = append(notes, strings.TrimSpace(p.Info))
		}
		if len(p.Options) > 0 {
			notes = append(notes, "Options: "+strings.Join(p.Options, ", ")+".")
		}
		var vars []string
		for _, e := range envParams {
			if e.Param == p.Name {
				vars = append(vars, "`"+e.Env+"`")
			}
		}
		if len(vars) > 0 {
			notes = append(notes, "Environment: "+strings.Join(vars, " or ")+".")
		}
		cell := strings.NewReplacer("|", `\|`, "\n", " ")
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", p.Name, cell.Replace(p.Label()), paramTypes[p.Type], def, cell.Replace(strings.Join(notes, " ")))
	}
	return b.String()
}

// TestREADMEParameters fails when the README's parameter table differs from
// integration.yml; -update-readme rewrites it.
func TestREADMEParameters(t *testing.T) {
	md := readme(t)
	i, j := strings.Index(md, paramsBegin), strings.Index(md, paramsEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", paramsBegin, paramsEnd)
	}
	want := paramsBegin + "\n" + parametersTable(testCatalog(t)) + paramsEnd
	got := md[i : j+len(paramsEnd)]
	if got == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(readmePath, []byte(md[:i]+want+md[j+len(paramsEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's parameter table is out of date with integration.yml: run go test ./internal/cli -run TestREADMEParameters -update-readme")
}

func TestREADMEFirstScreen(t *testing.T) {
	lines := strings.Split(readme(t), "\n")
	first := strings.Join(lines[:min(len(lines), 25)], "\n")
	for _, want := range []string{"go run . demo", "go test -race ./..."} {
		if !strings.Contains(first, want) {
			t.Errorf("the README's first screen lacks %q", want)
		}
	}
}

// TestREADMECoversCodesAndVariables: every AF code the client explains and
// every MSMA_* variable is documented.
func TestREADMECoversCodesAndVariables(t *testing.T) {
	md := readme(t)
	for _, code := range []string{activity.CodeNoPermission, activity.CodeTenantMismatch, activity.CodeTenantMissing,
		activity.CodeTenantMisconfigured, activity.CodeTenantInvalid, activity.CodeInvalidContentType,
		activity.CodeNoSubscription, activity.CodeSubscriptionOff, activity.CodeAlreadyEnabled, activity.CodeBadTimeWindow,
		activity.CodeStalePage, activity.CodeContentMissing, activity.CodeContentExpired, activity.CodeContentIDInvalid,
		activity.CodeBadTimeWindow2, activity.CodeThrottled, activity.CodeInternal, activity.CodeInternal5, activity.CodeInternal6} {
		if (&activity.APIError{Code: code}).Hint() == "" {
			t.Errorf("the client has no hint for %s", code)
		}
		if !strings.Contains(md, "`"+code+"`") {
			t.Errorf("README.md's troubleshooting lacks %s", code)
		}
	}
	for _, e := range envParams {
		if !strings.Contains(md, "`"+e.Env+"`") {
			t.Errorf("README.md lacks %s", e.Env)
		}
	}
	for _, c := range testCatalog(t).commandNames() {
		if !strings.Contains(md, "### "+shortName(c)) && !strings.Contains(md, " / "+shortName(c)) {
			t.Errorf("README.md has no section for %s", c)
		}
	}
}

// block is a fenced code block of the README.
type block struct {
	lang, body string
	line       int
}

func codeBlocks(md string) []block {
	var out []block
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		lang := strings.TrimPrefix(lines[i], "```")
		start := i
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		out = append(out, block{lang, strings.Join(body, "\n"), start + 1})
	}
	return out
}

// example is one command line of the README with the output shown under it.
type example struct {
	line   int
	argv   []string
	output []string
}

// readmeExamples extracts, in order, the command lines of the README's sh
// and console blocks that run this executable (not the emulator itself, nor
// the protocol mode), with the output shown after them in console blocks,
// and the variables the sh blocks export.
func readmeExamples(md string) (exs []example, env map[string]string) {
	env = map[string]string{}
	for _, b := range codeBlocks(md) {
		if b.lang != "sh" && b.lang != "console" {
			continue
		}
		var cur *example
		for k, l := range strings.Split(b.body, "\n") {
			if v, ok := strings.CutPrefix(l, "export "); ok && b.lang == "sh" {
				if name, val, ok := strings.Cut(v, "="); ok {
					env[name] = val
				}
				continue
			}
			cmd, isCmd := strings.CutPrefix(l, "$ ")
			if b.lang == "sh" {
				cmd, isCmd = l, true
			}
			if isCmd {
				if cur != nil {
					exs = append(exs, *cur)
					cur = nil
				}
				if i := strings.Index(cmd, "#"); i >= 0 {
					cmd = cmd[:i]
				}
				f := strings.Fields(cmd)
				if len(f) < 2 || f[0] != "ms-management-activity" || f[1] == "emulator" || strings.ContainsAny(cmd, "<>|") {
					continue
				}
				cur = &example{line: b.line + k + 1, argv: f[1:]}
				continue
			}
			if cur != nil {
				cur.output = append(cur.output, l)
			}
		}
		if cur != nil {
			exs = append(exs, *cur)
		}
	}
	return exs, env
}

var digits = regexp.MustCompile(`[0-9][0-9,]*`)

// shapeLines are the lines of an output that do not depend on the data: the
// first line and the table titles, headers and separators.
func shapeLines(lines []string) []string {
	var out []string
	for i, l := range lines {
		if i == 0 || strings.HasPrefix(l, "###") || (strings.HasPrefix(l, "|") && !strings.HasPrefix(l, "| ")) {
			out = append(out, digits.ReplaceAllString(l, "N"))
		}
	}
	return out
}

// startEmulatorCommand runs "ms-management-activity emulator" in-process on
// a free loopback port and returns the params file it wrote.
func startEmulatorCommand(t *testing.T) string {
	t.Helper()
	paramsFile := filepath.Join(t.TempDir(), "emulator.yml")
	cfg := testConfig(t, func(string) string { return "" })
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		streams := &Streams{Out: &out, Err: &errb}
		done <- Run(ctx, []string{"emulator", "--addr", "127.0.0.1:0", "--write-params", paramsFile}, streams, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("emulator exited %d: %s", code, errb.String())
			}
		case <-time.After(5 * time.Second):
			t.Error("emulator did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(paramsFile); err == nil && strings.Contains(out.String(), "Press Ctrl-C") {
			return paramsFile
		}
		select {
		case code := <-done:
			t.Fatalf("emulator exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not start: %s %s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestREADMEExamples runs every command line of the README, in order,
// against the emulator command, as a reader following it would, and checks
// the exit status and the shape of the output shown.
func TestREADMEExamples(t *testing.T) {
	md := readme(t)
	paramsFile := startEmulatorCommand(t)
	written, err := os.ReadFile(paramsFile)
	if err != nil {
		t.Fatal(err)
	}
	// The README shows the params the emulator writes (port aside).
	var shownYAML string
	for _, b := range codeBlocks(md) {
		if b.lang == "yaml" && strings.Contains(b.body, "authority_url: https://127.0.0.1:8443") {
			shownYAML = b.body
		}
	}
	port := regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	if got := port.ReplaceAllString(strings.TrimSpace(string(written)), "127.0.0.1:8443"); got != strings.TrimSpace(shownYAML) {
		t.Errorf("README.md's emulator.yml differs from what the emulator writes:\n%s\n---\n%s", shownYAML, got)
	}
	dir := t.TempDir()
	authcode := filepath.Join(dir, "authcode.yml")
	if err := os.WriteFile(authcode, append(written, "redirect_uri: https://localhost/callback\n"...), 0o600); err != nil {
		t.Fatal(err)
	}

	exs, env := readmeExamples(md)
	// --state without a value keeps the state under XDG_STATE_HOME.
	env["XDG_STATE_HOME"] = filepath.Join(dir, "xdg-state")
	if env["MSMA_CLIENT_SECRET"] != emulatorSecret {
		t.Errorf("README.md exports MSMA_CLIENT_SECRET=%q, the emulator's secret is %q", env["MSMA_CLIENT_SECRET"], emulatorSecret)
	}
	ran := map[string]bool{}
	for _, ex := range exs {
		argv := make([]string, len(ex.argv))
		for i, a := range ex.argv {
			switch a {
			case "emulator.yml":
				a = paramsFile
			case "authcode.yml":
				a = authcode
			}
			argv[i] = a
		}
		r := runCLI(t, env, false, argv...)
		name := fmt.Sprintf("README.md:%d %s", ex.line, strings.Join(ex.argv, " "))
		if r.code != 0 {
			t.Errorf("%s: exit %d\n%s", name, r.code, r.stderr)
			continue
		}
		ran[ex.argv[0]] = true
		if len(ex.output) == 0 {
			continue
		}
		got := strings.Split(r.stdout, "\n")
		want := shapeLines(ex.output)
		have := shapeLines(got)
		for i, w := range want {
			if i >= len(have) || have[i] != w {
				t.Errorf("%s: output line %q not found in order; got:\n%s", name, w, r.stdout)
				break
			}
		}
	}
	for _, c := range testCatalog(t).commandNames() {
		if !ran[shortName(c)] {
			t.Errorf("README.md has no example of %s that ran", shortName(c))
		}
	}
}

// TestREADMEEnvelopes: every envelope of the README is a valid envelope of a
// known command, and runs against the emulator with its params filled in.
func TestREADMEEnvelopes(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	var emu map[string]any
	b, _ := os.ReadFile(f.params)
	if err := yaml.Unmarshal(b, &emu); err != nil {
		t.Fatal(err)
	}
	emu["credentials_enc_key"] = f.tenant.secret
	n := 0
	for _, bl := range codeBlocks(readme(t)) {
		if bl.lang != "json" {
			continue
		}
		if !json.Valid([]byte(bl.body)) {
			t.Errorf("README.md:%d: not valid JSON", bl.line)
			continue
		}
		if !strings.Contains(bl.body, `"command"`) {
			continue
		}
		n++
		envl, err := commands.DecodeEnvelope([]byte(bl.body))
		if err != nil {
			t.Errorf("README.md:%d: %v", bl.line, err)
			continue
		}
		if envl.Params == nil {
			t.Errorf("README.md:%d: no params", bl.line)
		}
		envl.Params = emu
		out, code := commands.Run(context.Background(), envl, &commands.Deps{})
		if code != 0 {
			var buf bytes.Buffer
			json.NewEncoder(&buf).Encode(out)
			t.Errorf("README.md:%d: %s exited %d: %s", bl.line, envl.Command, code, buf.String())
		}
	}
	if n < 5 {
		t.Errorf("only %d envelopes in README.md", n)
	}
}

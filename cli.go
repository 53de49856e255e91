package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/progress"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/spec"
)

// integrationYML is the integration's definition, the single source of the
// command line's names, help text and argument checks.
//
//go:embed integration.yml
var integrationYML []byte

var (
	specOnce sync.Once
	specVal  *spec.Integration
)

// integration returns the parsed embedded integration.yml.
func integration() *spec.Integration {
	specOnce.Do(func() {
		in, err := spec.Parse(integrationYML)
		if err != nil {
			panic("the embedded integration.yml does not parse: " + err.Error())
		}
		specVal = in
	})
	return specVal
}

// cmdPrefix is the prefix of the integration's own command names; the
// command line accepts them without it (list-content).
const cmdPrefix = "ms-management-activity-"

// builtinCommands are the engine commands integration.yml does not declare.
var builtinCommands = []struct{ name, desc string }{
	{commands.CmdTestModule, "Tests the connection: gets a token and lists the subscriptions (the engine's Test button)."},
	{commands.CmdFetchIncidents, "Fetches new content records as incidents, from where the previous fetch stopped (keep that position with --state DIR)."},
}

// examples are the example command lines of help COMMAND (and of the README,
// whose test runs them).
var examples = map[string]string{
	commands.CmdTestModule:        "ms-management-activity test-module --params params.yml",
	commands.CmdFetchIncidents:    "ms-management-activity fetch-incidents --params params.yml --state ./state",
	commands.CmdStartSubscription: "ms-management-activity start-subscription content_type=Audit.General --params params.yml",
	commands.CmdStopSubscription:  "ms-management-activity stop-subscription content_type=DLP.All --params params.yml",
	commands.CmdListSubscriptions: "ms-management-activity list-subscriptions --params params.yml",
	commands.CmdListContent:       "ms-management-activity list-content content_type=Audit.Exchange record_types_filter=ExchangeAdmin limit=20 --params params.yml",
	commands.CmdSearchRecords:     "ms-management-activity search-records user_ids=alice@contoso.com start_time=2026-11-25T00:00:00 end_time=2026-11-28T00:00:00 --params params.yml",
	commands.CmdGenerateLoginURL:  "ms-management-activity generate-login-url --params params.yml",
	commands.CmdAuthReset:         "ms-management-activity auth-reset --params params.yml --state ./state",
}

// envParam is an environment variable that fills an instance parameter, so
// that secrets need not be written in a params file.
type envParam struct {
	Env, Param, Doc string
	Secret          bool
}

var envParams = []envParam{
	{"MSMA_CLIENT_ID", "credentials_auth_id", "Application (client) ID of the Azure app registration.", false},
	{"MSMA_TENANT_ID", "credentials_refresh_token", "Tenant ID (directory ID), for a self-deployed app or managed identities.", false},
	{"MSMA_TOKEN", "credentials_refresh_token", "The Cortex XSOAR application's token (when not self-deployed); do not combine with MSMA_TENANT_ID.", true},
	{"MSMA_CLIENT_SECRET", "credentials_enc_key", "Client secret of a self-deployed app (or the key of the Cortex XSOAR application).", true},
	{"MSMA_CERTIFICATE_THUMBPRINT", "credentials_certificate_thumbprint", "Thumbprint of the app's certificate (certificate authentication).", true},
	{"MSMA_PRIVATE_KEY", "private_key", "PEM private key of that certificate (or MSMA_PRIVATE_KEY_FILE=path).", true},
	{"MSMA_AUTH_CODE", "credentials_auth_code", "Authorization code (authorization code flow, see generate-login-url).", true},
	{"MSMA_MANAGED_IDENTITIES_CLIENT_ID", "managed_identities_client_id", "Client ID of a user-assigned managed identity.", false},
}

// usageError is a mistake on the command line (exit 2), with a hint.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// human is one run of the command line for people.
type human struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// secrets is the run's redaction set, shared with the dispatcher (it
	// also holds IDs such as the tenant, redacted from logs and errors).
	secrets *redact.Set
	// envSecrets holds only the secrets taken from MSMA_* variables: they
	// are blanked from everything printed, output included.
	envSecrets *redact.Set
	logLevel   string

	// stdoutTTY selects rendered tables (else verbatim markdown); stderrTTY
	// enables progress; width is the terminal's width (0: 100).
	stdoutTTY, stderrTTY bool
	width                int

	// deps is the template of the dispatcher's dependencies (tests and the
	// demo set HTTPClient, TokenSource, Clock or Handlers; nil = production).
	deps commands.Deps
	// maxRows truncates markdown tables (0: no limit); --max-rows sets it.
	maxRows int
	// quietNotes leaves out the notes for people on stderr (the demo).
	quietNotes bool
}

// cliOptions is a parsed command line.
type cliOptions struct {
	command    string // full command name
	args       map[string]any
	argOrder   []string
	paramsFile string
	stateDir   string
	json       bool
	maxRows    int
	maxRowsSet bool
	help       bool
}

// parseCommandLine parses COMMAND [name=value ...] [--params FILE] [--state
// DIR] [--json] [--max-rows N].
func parseCommandLine(argv []string) (*cliOptions, error) {
	o := &cliOptions{args: map[string]any{}}
	var bare []string
	flagValue := func(i *int, name string) (string, error) {
		a := argv[*i]
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, nil
		}
		if *i+1 >= len(argv) {
			return "", &usageError{fmt.Sprintf("%s needs a value", name), fmt.Sprintf("e.g. %s %s", name, map[string]string{"--params": "params.yml", "--state": "./state", "--max-rows": "20"}[name])}
		}
		*i++
		return argv[*i], nil
	}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--params" || strings.HasPrefix(a, "--params="):
			v, err := flagValue(&i, "--params")
			if err != nil {
				return nil, err
			}
			o.paramsFile = v
		case a == "--state" || strings.HasPrefix(a, "--state="):
			v, err := flagValue(&i, "--state")
			if err != nil {
				return nil, err
			}
			o.stateDir = v
		case a == "--max-rows" || strings.HasPrefix(a, "--max-rows="):
			v, err := flagValue(&i, "--max-rows")
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, &usageError{fmt.Sprintf("--max-rows %q is not a number of rows", v), "use 0 for no limit"}
			}
			o.maxRows, o.maxRowsSet = n, true
		case a == "--json":
			o.json = true
		case a == "-h" || a == "--help":
			o.help = true
		case strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			flags := []string{"--params", "--state", "--json", "--max-rows", "--help", "--log-level"}
			hint := "the flags are " + strings.Join(flags, ", ")
			if s := closest(strings.TrimLeft(a, "-"), trimDashes(flags)); s != "" {
				hint = fmt.Sprintf("did you mean --%s?", s)
			}
			return nil, &usageError{fmt.Sprintf("unknown flag %s", a), hint}
		case strings.Contains(a, "=") && o.command != "":
			name, value, _ := strings.Cut(a, "=")
			name = strings.TrimSpace(name)
			if name == "" {
				return nil, &usageError{fmt.Sprintf("argument %q has no name", a), "arguments are name=value, e.g. content_type=Audit.General"}
			}
			if _, dup := o.args[name]; dup {
				return nil, &usageError{fmt.Sprintf("argument %s is given twice", name), "give it once; a list is comma-separated, e.g. record_types_filter=ExchangeAdmin,SharePoint"}
			}
			o.args[name] = value
			o.argOrder = append(o.argOrder, name)
		default:
			if o.command == "" {
				o.command = a
				continue
			}
			bare = append(bare, a)
		}
	}
	if len(bare) > 0 {
		return nil, &usageError{fmt.Sprintf("unexpected argument %q", bare[0]), "arguments are name=value, e.g. content_type=Audit.General"}
	}
	return o, nil
}

func trimDashes(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = strings.TrimLeft(f, "-")
	}
	return out
}

// commandNames lists every command the dispatcher knows, full names.
func commandNames() []string {
	var out []string
	for _, b := range builtinCommands {
		out = append(out, b.name)
	}
	for _, c := range integration().Script.Commands {
		out = append(out, c.Name)
	}
	return out
}

// shortName is the command's name without the integration prefix.
func shortName(full string) string { return strings.TrimPrefix(full, cmdPrefix) }

// resolveCommand maps what the user typed (short or full name, with or
// without the war room's "!") to a command's full name.
func resolveCommand(typed string) (string, error) {
	t := strings.TrimPrefix(strings.TrimSpace(typed), "!")
	for _, n := range commandNames() {
		if strings.EqualFold(t, n) || strings.EqualFold(t, shortName(n)) {
			return n, nil
		}
	}
	var cands []string
	for _, n := range commandNames() {
		cands = append(cands, shortName(n))
	}
	cands = append(cands, "demo", "emulator", "help")
	hint := `run "ms-management-activity help" to list the commands`
	if s := closest(strings.TrimPrefix(strings.ToLower(t), cmdPrefix), cands); s != "" {
		hint = fmt.Sprintf("did you mean %q? (%s)", s, hint)
	}
	return "", &usageError{fmt.Sprintf("unknown command %q", typed), hint}
}

// checkArgs validates name=value arguments against integration.yml: unknown
// names are refused with a suggestion, predefined values are checked (and
// their case normalized), required ones must be present.
func checkArgs(command string, args map[string]any, order []string) error {
	cmd := integration().Command(command)
	var declared []spec.Argument
	if cmd != nil {
		declared = cmd.Arguments
	}
	names := make([]string, 0, len(declared))
	for _, a := range declared {
		names = append(names, a.Name)
	}
	helpHint := fmt.Sprintf(`see "ms-management-activity help %s"`, shortName(command))
	for _, name := range order {
		i := slices.IndexFunc(declared, func(a spec.Argument) bool { return a.Name == name })
		if i < 0 {
			if len(names) == 0 {
				return &usageError{fmt.Sprintf("%s takes no arguments, but %s= was given", shortName(command), name), helpHint}
			}
			hint := "its arguments are " + strings.Join(names, ", ")
			if s := closest(name, names); s != "" {
				hint = fmt.Sprintf("did you mean %s? (%s)", s, hint)
			}
			return &usageError{fmt.Sprintf("unknown argument %q for %s", name, shortName(command)), hint}
		}
		a := declared[i]
		if len(a.Predefined) > 0 {
			v, _ := args[name].(string)
			v = strings.TrimSpace(v)
			j := slices.IndexFunc(a.Predefined, func(p string) bool { return strings.EqualFold(p, v) })
			if j < 0 {
				hint := "one of " + strings.Join(a.Predefined, ", ")
				if s := closest(v, a.Predefined); s != "" {
					hint = fmt.Sprintf("did you mean %s? (%s)", s, hint)
				}
				return &usageError{fmt.Sprintf("%s=%s is not a valid value", name, v), hint}
			}
			args[name] = a.Predefined[j]
		}
	}
	for _, a := range declared {
		if _, ok := args[a.Name]; a.Required && !ok {
			ex := a.Name + "=VALUE"
			if len(a.Predefined) > 0 {
				ex = a.Name + "=" + a.Predefined[0]
			}
			return &usageError{fmt.Sprintf("%s needs the argument %s", shortName(command), a.Name), fmt.Sprintf("e.g. %s (%s)", ex, helpHint)}
		}
	}
	return nil
}

// closest returns the candidate nearest to s (edit distance at most a third
// of its length, at least 2), or "".
func closest(s string, cands []string) string {
	best, bestD := "", 1<<30
	ls := strings.ToLower(s)
	for _, c := range cands {
		lc := strings.ToLower(c)
		d := levenshtein(ls, lc)
		if strings.HasPrefix(lc, ls) && len(ls) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// loadParams reads a params file (JSON or YAML, keyed by integration.yml's
// parameter names) and applies the MSMA_* environment variables. It returns
// the params and the secret values that came from the environment.
func loadParams(file string, getenv func(string) string) (map[string]any, []string, error) {
	p := map[string]any{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, &usageError{fmt.Sprintf("cannot read the params file: %v", err), `the params file holds the instance parameters as JSON or YAML, e.g. base_url: https://manage.office.com/api/v1.0/ (see "ms-management-activity help params")`}
		}
		if err := decodeParams(file, data, &p); err != nil {
			return nil, nil, err
		}
		if p == nil {
			p = map[string]any{}
		}
		var names []string
		for _, c := range integration().Configuration {
			names = append(names, c.Name)
		}
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !slices.Contains(names, k) {
				hint := `see "ms-management-activity help params" for the names`
				if s := closest(k, names); s != "" {
					hint = fmt.Sprintf("did you mean %s? (%s)", s, hint)
				}
				return nil, nil, &usageError{fmt.Sprintf("%s: unknown parameter %q", file, k), hint}
			}
		}
	}
	var secrets []string
	if getenv("MSMA_TENANT_ID") != "" && getenv("MSMA_TOKEN") != "" {
		return nil, nil, &usageError{"both MSMA_TENANT_ID and MSMA_TOKEN are set", "they fill the same parameter (credentials_refresh_token): set MSMA_TENANT_ID for a self-deployed app, MSMA_TOKEN for the Cortex XSOAR application"}
	}
	for _, e := range envParams {
		v := getenv(e.Env)
		if v == "" {
			continue
		}
		p[e.Param] = v
		if e.Secret {
			secrets = append(secrets, v)
		}
	}
	if f := getenv("MSMA_PRIVATE_KEY_FILE"); f != "" && getenv("MSMA_PRIVATE_KEY") == "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, &usageError{fmt.Sprintf("cannot read MSMA_PRIVATE_KEY_FILE: %v", err), "it must be the path of the certificate's PEM private key"}
		}
		p["private_key"] = string(data)
		secrets = append(secrets, string(data))
	}
	return p, secrets, nil
}

func decodeParams(file string, data []byte, out *map[string]any) error {
	trimmed := bytes.TrimSpace(data)
	if strings.EqualFold(filepath.Ext(file), ".json") || (len(trimmed) > 0 && trimmed[0] == '{') {
		if err := json.Unmarshal(trimmed, out); err != nil {
			return &usageError{fmt.Sprintf("%s is not a JSON object of parameters: %v", file, err), `e.g. {"base_url": "https://manage.office.com/api/v1.0/", "self_deployed": true}`}
		}
		return nil
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		return &usageError{fmt.Sprintf("%s is not a YAML mapping of parameters: %v", file, err), "e.g. base_url: https://manage.office.com/api/v1.0/"}
	}
	return nil
}

// State files of --state DIR.
const (
	lastRunFile            = "lastRun.json"
	integrationContextFile = "integrationContext.json"
)

// loadState reads DIR/lastRun.json and DIR/integrationContext.json (absent
// files are empty state).
func loadState(dir string) (lastRun json.RawMessage, ictx map[string]any, err error) {
	if dir == "" {
		return nil, nil, nil
	}
	read := func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, &usageError{fmt.Sprintf("cannot read the state: %v", err), "--state DIR must be a folder this user can read and write"}
		}
		if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] != '{' || !json.Valid(t)) {
			return nil, &usageError{fmt.Sprintf("%s is not a JSON object", filepath.Join(dir, name)), "fix it, or delete it to start over (deleting lastRun.json makes the next fetch start from first_fetch_delta)"}
		}
		return data, nil
	}
	lr, err := read(lastRunFile)
	if err != nil {
		return nil, nil, err
	}
	ic, err := read(integrationContextFile)
	if err != nil {
		return nil, nil, err
	}
	if len(bytes.TrimSpace(ic)) > 0 {
		if err := json.Unmarshal(ic, &ictx); err != nil {
			return nil, nil, &usageError{fmt.Sprintf("%s: %v", integrationContextFile, err), "fix it, or delete it (the next command gets a new token)"}
		}
	}
	if len(bytes.TrimSpace(lr)) > 0 {
		lastRun = bytes.TrimSpace(lr)
	}
	return lastRun, ictx, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder and a rename, mode 0600: a crash leaves the old or the new file,
// never half of one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// saveState stores what the command left: lastRun after a successful fetch,
// integrationContext when the command changed it.
func saveState(dir string, command string, out *commands.Output, code int) error {
	if dir == "" || code != commands.ExitOK {
		return nil
	}
	enc := func(v any) ([]byte, error) {
		b, err := json.MarshalIndent(v, "", "  ")
		return append(b, '\n'), err
	}
	if command == commands.CmdFetchIncidents && out.LastRun != nil {
		b, err := enc(out.LastRun)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, lastRunFile), b); err != nil {
			return fmt.Errorf("saving lastRun: %w", err)
		}
	}
	if out.IntegrationContext != nil {
		b, err := enc(out.IntegrationContext)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, integrationContextFile), b); err != nil {
			return fmt.Errorf("saving integrationContext: %w", err)
		}
	}
	return nil
}

// fail prints an error and its hint on stderr and returns the exit code.
func (h *human) fail(err error, code int) int {
	var ue *usageError
	msg := err.Error()
	hint := ""
	if errors.As(err, &ue) {
		hint = ue.hint
	}
	fmt.Fprintf(h.stderr, "Error: %s\n", h.envSecrets.String(msg))
	if hint != "" {
		fmt.Fprintf(h.stderr, "Hint: %s\n", h.envSecrets.String(hint))
	}
	return code
}

// runCommand runs one engine command from the command line.
func (h *human) runCommand(ctx context.Context, argv []string) int {
	_, code := h.execute(ctx, argv)
	return code
}

// execute runs one engine command from the command line, prints its output
// and returns the result (nil when the command line itself was wrong) and
// the exit code.
func (h *human) execute(ctx context.Context, argv []string) (*commands.Output, int) {
	o, err := parseCommandLine(argv)
	if err != nil {
		return nil, h.fail(err, commands.ExitBadEnvelope)
	}
	if o.command == "" {
		h.printUsage()
		return nil, commands.ExitBadEnvelope
	}
	full, err := resolveCommand(o.command)
	if err != nil {
		return nil, h.fail(err, commands.ExitBadEnvelope)
	}
	if o.help {
		return nil, h.help([]string{full})
	}
	if o.maxRowsSet {
		h.maxRows = o.maxRows
	}
	if err := checkArgs(full, o.args, o.argOrder); err != nil {
		return nil, h.fail(err, commands.ExitBadEnvelope)
	}
	p, envSecrets, err := loadParams(o.paramsFile, h.getenv)
	if err != nil {
		return nil, h.fail(err, commands.ExitBadEnvelope)
	}
	h.secrets.Add(envSecrets...)
	h.envSecrets.Add(envSecrets...)
	lastRun, ictx, err := loadState(o.stateDir)
	if err != nil {
		return nil, h.fail(err, commands.ExitBadEnvelope)
	}
	envl := &commands.Envelope{Command: full, Params: p, Args: o.args, IntegrationContext: ictx}
	if full == commands.CmdFetchIncidents {
		envl.LastRun = lastRun
	}
	out, code := h.dispatch(ctx, envl)
	if err := saveState(o.stateDir, full, out, code); err != nil {
		h.fail(err, commands.ExitFailed)
		code = commands.ExitFailed
	}
	if o.json {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return out, h.fail(fmt.Errorf("writing the result: %w", err), commands.ExitFailed)
		}
		io.WriteString(h.stdout, h.envSecrets.String(string(b))+"\n")
	} else {
		io.WriteString(h.stdout, h.envSecrets.String(h.render(h.humanReadable(full, out))))
	}
	for _, e := range out.Results {
		if e.Type == 4 {
			msg, _ := e.Contents.(string)
			h.fail(errors.New(msg), code)
			if hint := errorHint(msg, o.paramsFile, h.getenv); hint != "" {
				fmt.Fprintf(h.stderr, "Hint: %s\n", hint)
			}
		}
	}
	if code == commands.ExitOK && full == commands.CmdFetchIncidents && o.stateDir == "" && !h.quietNotes {
		fmt.Fprintln(h.stderr, "Note: without --state DIR this position is not kept: the next fetch starts again from first_fetch_delta.")
	}
	return out, code
}

// dispatch runs the envelope through the real dispatcher, with progress on
// stderr when it is a terminal.
func (h *human) dispatch(ctx context.Context, envl *commands.Envelope) (*commands.Output, int) {
	deps := h.deps
	deps.Secrets = h.secrets
	errw := h.stderr
	var bar *progress.Bar
	if h.stderrTTY {
		bar = progress.NewBar(h.stderr, shortName(envl.Command))
		deps.Progress = bar
		errw = bar // log lines clear the bar first
	}
	if deps.Logger == nil {
		lg, err := newLogger(errw, h.logLevel, h.secrets)
		if err != nil {
			lg = slog.New(slog.DiscardHandler)
		}
		deps.Logger = lg
	}
	out, code := commands.Run(ctx, envl, &deps)
	if bar != nil {
		bar.Close()
	}
	return out, code
}

// humanReadable is the markdown a person reads for a result: each entry's
// human-readable text (or its contents), warnings, and for fetch-incidents a
// summary of the incidents and of the new lastRun.
func (h *human) humanReadable(command string, out *commands.Output) string {
	var parts []string
	for _, e := range out.Results {
		switch e.Type {
		case 4:
			continue // on stderr
		case 11:
			parts = append(parts, "**Warning:** "+fmt.Sprint(e.Contents)+"\n")
			continue
		}
		text := e.HumanReadable
		if text == "" {
			switch c := e.Contents.(type) {
			case string:
				text = c
			case nil:
			default:
				b, _ := json.MarshalIndent(c, "", "  ")
				text = "```json\n" + string(b) + "\n```"
			}
		}
		if text != "" {
			parts = append(parts, strings.TrimRight(text, "\n")+"\n")
		}
	}
	if command == commands.CmdFetchIncidents && out.Incidents != nil {
		parts = append(parts, incidentsMarkdown(*out.Incidents), lastRunMarkdown(out.LastRun))
	}
	return strings.Join(parts, "\n")
}

// incidentsMarkdown is the fetch summary table.
func incidentsMarkdown(inc []commands.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Fetched %s incidents\n", progress.Thousands(len(inc)))
	if len(inc) == 0 {
		b.WriteString("**No entries.**\n")
		return b.String()
	}
	b.WriteString("|occurred|name|\n|---|---|\n")
	for _, i := range inc {
		fmt.Fprintf(&b, "| %s | %s |\n", mdCell(i.Occurred), mdCell(i.Name))
	}
	return b.String()
}

// lastRunMarkdown summarizes the new lastRun for a person: per content
// type, where the next fetch continues and what this run did (from the
// diagnostics), then any warnings. An unfamiliar shape is shown field by
// field. The whole object is in lastRun.json (--state) or --json.
func lastRunMarkdown(lr any) string {
	var sb strings.Builder
	sb.WriteString("### lastRun: where the next fetch continues\n")
	raw, _ := json.Marshal(lr)
	var v struct {
		Version int `json:"version"`
		Streams map[string]struct {
			Cursor   string            `json:"cursor"`
			From     string            `json:"from"`
			Partials []json.RawMessage `json:"partials"`
		} `json:"streams"`
		Diagnostics struct {
			Streams map[string]struct {
				Incidents  int `json:"incidents"`
				Duplicates int `json:"duplicate_records"`
				Skipped    int `json:"blobs_skipped"`
			} `json:"streams"`
			Warnings []string `json:"warnings"`
			Error    string   `json:"error"`
		} `json:"diagnostics"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Version == 0 || len(v.Streams) == 0 {
		return sb.String() + flatLastRun(raw)
	}
	cts := make([]string, 0, len(v.Streams))
	for ct := range v.Streams {
		cts = append(cts, ct)
	}
	sort.Strings(cts)
	sb.WriteString("|content type|cursor|next listing from|partly delivered blobs|incidents|duplicates skipped|\n|---|---|---|---|---|---|\n")
	for _, ct := range cts {
		st, d := v.Streams[ct], v.Diagnostics.Streams[ct]
		fmt.Fprintf(&sb, "| %s | %s | %s | %d | %s | %s |\n", mdCell(ct), mdCell(st.Cursor), mdCell(st.From), len(st.Partials),
			progress.Thousands(d.Incidents), progress.Thousands(d.Duplicates))
	}
	for _, w := range v.Diagnostics.Warnings {
		fmt.Fprintf(&sb, "\n**Warning:** %s\n", w)
	}
	if v.Diagnostics.Error != "" {
		fmt.Fprintf(&sb, "\n**Error:** %s\n", v.Diagnostics.Error)
	}
	return sb.String()
}

// flatLastRun shows any lastRun object one leaf field per row.
func flatLastRun(raw []byte) string {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if len(m) == 0 {
		return "**No entries.**\n"
	}
	var sb strings.Builder
	sb.WriteString("|field|value|\n|---|---|\n")
	var walk func(prefix string, v any, depth int)
	walk = func(prefix string, v any, depth int) {
		if obj, ok := v.(map[string]any); ok && len(obj) > 0 && depth < 3 {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + " › " + k
				}
				walk(p, obj[k], depth+1)
			}
			return
		}
		fmt.Fprintf(&sb, "| %s | %s |\n", mdCell(prefix), mdCell(summarize(v)))
	}
	walk("", m, 0)
	return sb.String()
}

// summarize renders a JSON value briefly.
func summarize(v any) string {
	switch t := v.(type) {
	case []any:
		if len(t) == 0 {
			return "[]"
		}
		return fmt.Sprintf("[%s items]", progress.Thousands(len(t)))
	case map[string]any:
		return fmt.Sprintf("{%d fields}", len(t))
	case string:
		if n := len([]rune(t)); n > 64 {
			return fmt.Sprintf("%s… (%s chars)", string([]rune(t)[:40]), progress.Thousands(n))
		}
		return t
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// mdCell escapes a value for a markdown table cell.
func mdCell(s string) string {
	s = strings.NewReplacer("\r\n", "<br>", "\n", "<br>", "\r", "<br>").Replace(s)
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "`", "\\`")
}

// errorHint adds a command-line hint to a command's error message, when the
// message alone does not say what to do on the command line.
func errorHint(msg, paramsFile string, getenv func(string) string) string {
	switch {
	case strings.Contains(msg, "invalid parameter") || strings.Contains(msg, "instance parameters"):
		if paramsFile == "" {
			return `give the instance parameters with --params FILE (see "ms-management-activity help params")`
		}
		return fmt.Sprintf(`fix it in %s (see "ms-management-activity help params")`, paramsFile)
	case strings.Contains(msg, "not implemented"):
		return ""
	case paramsFile == "" && getenv("MSMA_CLIENT_ID") == "":
		return `no --params file and no MSMA_* credentials were given; to try the integration without a tenant, run "ms-management-activity demo" or "ms-management-activity emulator"`
	case strings.Contains(msg, "AF") || strings.Contains(msg, "HTTP "):
		return "add --log-level debug to see each request"
	}
	return "add --log-level debug to see what was done"
}

// printUsage is the short usage on a bare or wrong invocation.
func (h *human) printUsage() {
	fmt.Fprintln(h.stderr, "usage: ms-management-activity COMMAND [name=value ...] [--params FILE] [--state DIR] [--json]")
	fmt.Fprintln(h.stderr, `run "ms-management-activity help" for the commands, "ms-management-activity demo" to try it`)
}

// newHuman prepares a run of the command line: it finds out whether stdout
// and stderr are terminals (rendered tables; progress) and the width.
func newHuman(stdout, stderr io.Writer, getenv func(string) string, level string, secrets *redact.Set) *human {
	if strings.TrimSpace(level) == "" {
		// People read stderr: only warnings and errors unless asked.
		level = "warn"
	}
	h := &human{stdout: stdout, stderr: stderr, getenv: getenv, logLevel: level, secrets: secrets, envSecrets: &redact.Set{}}
	h.stdoutTTY, h.width = isTerminal(stdout)
	h.stderrTTY, _ = isTerminal(stderr)
	return h
}

// isTerminal reports whether w is a terminal, and its width.
func isTerminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 100
	}
	return true, width
}

// main runs the command line.
func (h *human) main(ctx context.Context, argv []string) int {
	name, rest := commandWord(argv)
	switch strings.ToLower(name) {
	case "help":
		var words []string
		for _, a := range rest {
			if !strings.HasPrefix(a, "-") {
				words = append(words, a)
			}
		}
		return h.help(words)
	case "demo":
		return h.demo(ctx, rest)
	case "emulator":
		return h.emulator(ctx, rest)
	case "":
		if slices.Contains(argv, "-h") || slices.Contains(argv, "--help") {
			return h.help(nil)
		}
	}
	return h.runCommand(ctx, argv)
}

// commandWord returns the first word that is not a flag or a flag's value,
// and the other arguments.
func commandWord(argv []string) (string, []string) {
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--params" || a == "--state" || a == "--max-rows" || a == "--addr" || a == "--write-params":
			i++
		case strings.HasPrefix(a, "-") || strings.Contains(a, "="):
		default:
			return a, append(slices.Clone(argv[:i]), argv[i+1:]...)
		}
	}
	return "", argv
}

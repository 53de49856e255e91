package xsoar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// The stand-ins for the engine's python modules. demistomock reads the call
// from $MOCK_INPUT and appends every recorded call as one JSON line to
// $MOCK_CALLS; CommonServerPython's return_error behaves as the real one
// (raises for fetch-incidents, else an error entry and sys.exit(0)).
const demistomockPy = `import json
import os

_IN = json.load(open(os.environ['MOCK_INPUT']))


def _rec(fn, *args):
    with open(os.environ['MOCK_CALLS'], 'a') as f:
        f.write(json.dumps({'fn': fn, 'args': list(args)}) + '\n')


def command():
    return _IN['command']


def params():
    return _IN.get('params', {})


def args():
    return _IN.get('args', {})


def getLastRun():
    _rec('getLastRun')
    return _IN.get('lastRun', {})


def getIntegrationContext():
    return _IN.get('integrationContext', {})


def results(x):
    _rec('results', x)


def incidents(x):
    _rec('incidents', x)


def setLastRun(x):
    _rec('setLastRun', x)


def setIntegrationContext(x):
    _rec('setIntegrationContext', x)


def debug(m):
    _rec('debug', m)


def updateModuleHealth(m):
    _rec('updateModuleHealth', m)


if os.environ.get('MOCK_NO_HEALTH'):
    del updateModuleHealth
`

const commonServerPythonPy = `import sys

import demistomock as demisto


def return_error(message, error='', outputs=None):
    demisto._rec('return_error', message)
    if demisto.command() in ('fetch-incidents', 'fetch-credentials', 'long-running-execution', 'fetch-indicators'):
        raise Exception(message)
    demisto.results({'Type': 4, 'ContentsFormat': 'text', 'Contents': message, 'EntryContext': outputs})
    sys.exit(0)
`

// fakeBinaryPy stands in for the executable where the test needs to control
// its answer: it saves the envelope to $FAKE_ENVELOPE, writes $FAKE_STDERR to
// stderr, sleeps $FAKE_SLEEP seconds, prints $FAKE_STDOUT, exits $FAKE_EXIT.
const fakeBinaryPy = `import os
import sys
import time

open(os.environ['FAKE_ENVELOPE'], 'w').write(sys.stdin.read())
sys.stderr.write(os.environ.get('FAKE_STDERR', ''))
time.sleep(float(os.environ.get('FAKE_SLEEP', '0')))
sys.stdout.write(os.environ.get('FAKE_STDOUT', ''))
sys.exit(int(os.environ.get('FAKE_EXIT', '0')))
`

// harness runs the bridge embedded in integration.yml under python3 with the
// stand-ins, against the built executable.
type harness struct {
	python  string
	dir     string // stand-ins and integration.py
	binDir  string // holds ms-management-activity (for the PATH lookup)
	binary  string
	fake    string
	scratch string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the XSOAR bridge (xsoar/bridge.py) cannot be tested without it")
	}
	root := t.TempDir()
	h := &harness{python: python, dir: filepath.Join(root, "py"), binDir: filepath.Join(root, "bin"), scratch: root}
	for _, d := range []string{h.dir, h.binDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(h.dir, "demistomock.py"), demistomockPy, 0o644)
	write(filepath.Join(h.dir, "CommonServerPython.py"), commonServerPythonPy, 0o644)
	write(filepath.Join(h.dir, "integration.py"), embeddedScript(t)+"\n", 0o644)
	h.fake = filepath.Join(root, "fake-msma")
	write(h.fake, "#!"+python+"\n"+fakeBinaryPy, 0o755)

	h.binary = filepath.Join(h.binDir, "ms-management-activity")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	build := exec.Command(gobin, "build", "-o", h.binary, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return h
}

// call is one recorded demisto.* / return_error call.
type call struct {
	Fn   string            `json:"fn"`
	Args []json.RawMessage `json:"args"`
}

type bridgeRun struct {
	calls  []call
	exit   int
	stderr string
	dir    string // the run's folder (envelope.json of the stand-in executable)
}

// envelope decodes the envelope the stand-in executable received.
func (r *bridgeRun) envelope(t *testing.T, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, "envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("envelope %q: %v", data, err)
	}
}

func (r *bridgeRun) all(fn string) []call {
	var out []call
	for _, c := range r.calls {
		if c.Fn == fn {
			out = append(out, c)
		}
	}
	return out
}

// arg decodes the only argument of the only call to fn.
func (r *bridgeRun) arg(t *testing.T, fn string, v any) {
	t.Helper()
	cs := r.all(fn)
	if len(cs) != 1 || len(cs[0].Args) != 1 {
		t.Fatalf("want exactly one call to %s with one argument, got %d: %s", fn, len(cs), r)
	}
	if err := json.Unmarshal(cs[0].Args[0], v); err != nil {
		t.Fatalf("%s argument: %v", fn, err)
	}
}

func (r *bridgeRun) String() string {
	var b strings.Builder
	for _, c := range r.calls {
		args, _ := json.Marshal(c.Args)
		b.WriteString("\n  " + c.Fn + string(args))
	}
	return b.String() + "\n  python exit " + itoa(r.exit) + ", stderr: " + r.stderr
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// input is what the engine hands the integration.
type input struct {
	Command            string         `json:"command"`
	Params             map[string]any `json:"params,omitempty"`
	Args               map[string]any `json:"args,omitempty"`
	LastRun            map[string]any `json:"lastRun,omitempty"`
	IntegrationContext map[string]any `json:"integrationContext,omitempty"`
}

// run runs the embedded bridge with in; env adds/overrides variables (a
// MSMA_BINARY not given defaults to the built binary; "MSMA_BINARY=" unsets it).
func (h *harness) run(t *testing.T, in input, env ...string) *bridgeRun {
	t.Helper()
	dir := t.TempDir()
	inPath, callsPath := filepath.Join(dir, "in.json"), filepath.Join(dir, "calls.jsonl")
	data, _ := json.Marshal(in)
	if err := os.WriteFile(inPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "MSMA_") && !strings.HasPrefix(k, "PYTHON") {
			vars[k] = v
		}
	}
	vars["PATH"] = pathWithout(os.Getenv("PATH"), "ms-management-activity") // unless a case puts it there
	vars["MSMA_BINARY"] = h.binary
	vars["PYTHONPATH"] = h.dir
	vars["PYTHONDONTWRITEBYTECODE"] = "1"
	vars["MOCK_INPUT"], vars["MOCK_CALLS"] = inPath, callsPath
	vars["FAKE_ENVELOPE"] = filepath.Join(dir, "envelope.json")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var envList []string
	for k, v := range vars {
		if v != "" || k != "MSMA_BINARY" {
			envList = append(envList, k+"="+v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.python, filepath.Join(h.dir, "integration.py"))
	cmd.Dir = dir
	cmd.Env = envList
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := &bridgeRun{stderr: stderr.String(), dir: dir}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running python3: %v", err)
	}
	raw, err := os.ReadFile(callsPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var c call
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("bad call record %q: %v", line, err)
		}
		r.calls = append(r.calls, c)
	}
	return r
}

// pathWithout drops from a PATH list the folders holding an executable named name.
func pathWithout(path, name string) string {
	var keep []string
	for _, d := range filepath.SplitList(path) {
		if _, err := os.Stat(filepath.Join(d, name)); err != nil {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// direct runs the binary itself on the envelope, for comparing with what the
// bridge passed on.
func (h *harness) direct(t *testing.T, envelope any) (map[string]json.RawMessage, int) {
	t.Helper()
	data, _ := json.Marshal(envelope)
	cmd := exec.Command(h.binary)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("binary result %q: %v", out, err)
	}
	return res, code
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	norm := func(v any) any {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// errorMessage returns the Contents of the binary's error entry.
func errorMessage(t *testing.T, res map[string]json.RawMessage) string {
	t.Helper()
	var entries []struct {
		Type     int
		Contents string
	}
	if err := json.Unmarshal(res["results"], &entries); err != nil || len(entries) != 1 || entries[0].Type != 4 {
		t.Fatalf("want one error entry from the binary, got %s", res["results"])
	}
	return entries[0].Contents
}

const tenant = "11111111-1111-4111-8111-111111111111"

// startEmulator starts the in-repo API emulator with an enabled Audit.General
// subscription and returns it with instance params under which the binary
// authenticates on its own (the Cortex XSOAR application / oproxy flow against
// the emulator's broker, which works over plain HTTP on loopback).
func startEmulator(t *testing.T) (*emulator.Server, map[string]any) {
	t.Helper()
	srv := emulator.NewServer()
	t.Cleanup(srv.Close)
	srv.Subscribe(tenant, "Audit.General")
	return srv, srv.OproxyParams(tenant)
}

// record is one audit record in the API's shape.
func record(id string, created time.Time) json.RawMessage {
	return json.RawMessage(`{"Id":"` + id + `","RecordType":25,"CreationTime":"` + created.UTC().Format("2006-01-02T15:04:05") +
		`","Operation":"MessageSent","Workload":"MicrosoftTeams","UserId":"user@contoso.example","OrganizationId":"` + tenant + `"}`)
}

func TestBridge(t *testing.T) {
	h := newHarness(t)
	badParams := map[string]any{"timeout": "abc"}

	t.Run("list-subscriptions against the emulator: entries passed through", func(t *testing.T) {
		_, params := startEmulator(t)
		in := input{Command: "ms-management-activity-list-subscriptions", Params: params}
		r := h.run(t, in)
		if r.exit != 0 || len(r.all("return_error")) != 0 {
			t.Fatalf("unexpected failure: %s", r)
		}
		var got []any
		for _, c := range r.all("results") {
			var e any
			if err := json.Unmarshal(c.Args[0], &e); err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
		}
		res, code := h.direct(t, map[string]any{"command": in.Command, "params": in.Params})
		var want []any
		if err := json.Unmarshal(res["results"], &want); err != nil || code != 0 {
			t.Fatalf("direct run: exit %d, %v", code, err)
		}
		if len(want) == 0 || !jsonEqual(t, got, want) {
			t.Errorf("results passed through:\n%v\nwant the binary's entries:\n%v", got, want)
		}
		if !strings.Contains(string(res["results"]), "Audit.General") {
			t.Errorf("the entries do not show the emulator's subscription: %s", res["results"])
		}
		// The oproxy flow stored its token: the context is handed back.
		var ctx map[string]any
		r.arg(t, "setIntegrationContext", &ctx)
		if len(ctx) == 0 {
			t.Errorf("setIntegrationContext(%v): want the token cache", ctx)
		}
	})

	t.Run("list-content against the emulator: records passed through", func(t *testing.T) {
		srv, params := startEmulator(t)
		now := srv.Now()
		srv.AddBlob(tenant, "Audit.General", now.Add(-30*time.Minute), record("rec-1", now.Add(-40*time.Minute)), record("rec-2", now.Add(-35*time.Minute)))
		in := input{Command: "ms-management-activity-list-content", Params: params, Args: map[string]any{
			"content_type": "Audit.General",
			"start_time":   now.Add(-time.Hour).Format("2006-01-02T15:04:05"),
			"end_time":     now.Format("2006-01-02T15:04:05"),
		}}
		r := h.run(t, in)
		if r.exit != 0 || len(r.all("return_error")) != 0 {
			t.Fatalf("unexpected failure: %s", r)
		}
		results := r.all("results")
		if len(results) == 0 {
			t.Fatalf("no entries: %s", r)
		}
		all := ""
		for _, c := range results {
			all += string(c.Args[0])
		}
		for _, id := range []string{"rec-1", "rec-2"} {
			if !strings.Contains(all, id) {
				t.Errorf("record %s not in the entries passed through: %s", id, all)
			}
		}
	})

	t.Run("search-records against the emulator: matches, context and warnings passed through", func(t *testing.T) {
		srv, params := startEmulator(t)
		now := srv.Now()
		other := json.RawMessage(`{"Id":"s-other","RecordType":25,"CreationTime":"` + now.Add(-40*time.Minute).UTC().Format("2006-01-02T15:04:05") +
			`","Operation":"MessageSent","Workload":"MicrosoftTeams","UserId":"someone@contoso.example"}`)
		srv.AddBlob(tenant, "Audit.General", now.Add(-30*time.Minute), record("s-1", now.Add(-40*time.Minute)), other)
		srv.AddBlob(tenant, "Audit.General", now.Add(-20*time.Minute), record("s-2", now.Add(-25*time.Minute)))
		in := input{Command: "ms-management-activity-search-records", Params: params, Args: map[string]any{
			"user_ids":      "USER@contoso.example",
			"content_types": "Audit.General,Audit.Exchange", // Exchange is not subscribed: a warning
			"start_time":    now.Add(-time.Hour).Format("2006-01-02T15:04:05"),
			"end_time":      now.Format("2006-01-02T15:04:05"),
		}}
		r := h.run(t, in)
		if r.exit != 0 || len(r.all("return_error")) != 0 {
			t.Fatalf("unexpected failure: %s", r)
		}
		res, code := h.direct(t, map[string]any{"command": in.Command, "params": in.Params, "args": in.Args})
		var want []any
		if err := json.Unmarshal(res["results"], &want); err != nil || code != 0 {
			t.Fatalf("direct run: exit %d, %v", code, err)
		}
		var got []any
		all := ""
		for _, c := range r.all("results") {
			var e any
			if err := json.Unmarshal(c.Args[0], &e); err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
			all += string(c.Args[0])
		}
		// The line saying what was scanned names the API's now and the time
		// taken, which differ between the two runs.
		scanned := regexp.MustCompile(`(?m)^Scanned .*$`)
		for _, entries := range [][]any{got, want} {
			for _, e := range entries {
				if m, ok := e.(map[string]any); ok {
					if hr, ok := m["HumanReadable"].(string); ok {
						m["HumanReadable"] = scanned.ReplaceAllString(hr, "Scanned …")
					}
				}
			}
		}
		if !jsonEqual(t, got, want) {
			t.Errorf("results passed through:\n%v\nwant the binary's entries:\n%v", got, want)
		}
		for _, s := range []string{`"s-1"`, `"s-2"`, "MicrosoftManagement.ContentRecord", `"ContentType": "Audit.General"`, "Audit.Exchange is not subscribed", "The search is incomplete"} {
			if !strings.Contains(all, s) {
				t.Errorf("%s not in the entries passed through: %s", s, all)
			}
		}
		if strings.Contains(all, "s-other") {
			t.Errorf("a record of another user was passed through: %s", all)
		}
	})

	t.Run("fetch-incidents twice against the emulator: lastRun and integrationContext round-trip", func(t *testing.T) {
		srv, params := startEmulator(t)
		params["isFetch"] = true
		params["content_types_to_fetch"] = []any{"Audit.General"}
		params["first_fetch_delta"] = "3 hours"
		now := srv.Now()
		srv.AddBlob(tenant, "Audit.General", now.Add(-2*time.Hour), record("f-1", now.Add(-130*time.Minute)), record("f-2", now.Add(-125*time.Minute)))
		srv.AddBlob(tenant, "Audit.General", now.Add(-90*time.Minute), record("f-3", now.Add(-100*time.Minute)))

		ids := func(r *bridgeRun) []string {
			var incidents []struct {
				RawJSON string `json:"rawJSON"`
			}
			r.arg(t, "incidents", &incidents)
			var out []string
			for _, inc := range incidents {
				var rec struct{ Id string }
				if err := json.Unmarshal([]byte(inc.RawJSON), &rec); err != nil {
					t.Fatalf("incident rawJSON %q: %v", inc.RawJSON, err)
				}
				out = append(out, rec.Id)
			}
			return out
		}

		first := h.run(t, input{Command: "fetch-incidents", Params: params})
		if first.exit != 0 || len(first.all("return_error")) != 0 {
			t.Fatalf("first fetch failed: %s", first)
		}
		if got := strings.Join(ids(first), ","); got != "f-1,f-2,f-3" {
			t.Errorf("first fetch incidents %s, want f-1,f-2,f-3", got)
		}
		var lastRun, ctx map[string]any
		first.arg(t, "setLastRun", &lastRun)
		first.arg(t, "setIntegrationContext", &ctx)
		if len(lastRun) == 0 || len(ctx) == 0 {
			t.Fatalf("want a lastRun and the token cache from the first fetch: %s", first)
		}
		tokens := srv.Count("oproxy")

		srv.AddBlob(tenant, "Audit.General", srv.Now().Add(-2*time.Minute), record("f-4", srv.Now().Add(-3*time.Minute)))
		second := h.run(t, input{Command: "fetch-incidents", Params: params, LastRun: lastRun, IntegrationContext: ctx})
		if second.exit != 0 || len(second.all("return_error")) != 0 {
			t.Fatalf("second fetch failed: %s", second)
		}
		// lastRun round-trip: only the new record, no duplicates.
		if got := strings.Join(ids(second), ","); got != "f-4" {
			t.Errorf("second fetch incidents %s, want only f-4 (lastRun not handed back?)", got)
		}
		var lastRun2 map[string]any
		second.arg(t, "setLastRun", &lastRun2)
		// integrationContext round-trip: the cached token was reused.
		if n := srv.Count("oproxy"); n != tokens {
			t.Errorf("the second fetch asked the broker for a token again (%d -> %d requests): integrationContext not handed back", tokens, n)
		}
	})

	t.Run("error: return_error gets the binary's message", func(t *testing.T) {
		in := input{Command: "test-module", Params: badParams}
		res, code := h.direct(t, map[string]any{"command": in.Command, "params": in.Params})
		if code != 1 {
			t.Fatalf("binary exit %d, want 1", code)
		}
		want := errorMessage(t, res)
		if !strings.Contains(want, "invalid parameter timeout") {
			t.Fatalf("unexpected binary message %q", want)
		}
		r := h.run(t, in)
		var got string
		r.arg(t, "return_error", &got)
		if got != want {
			t.Errorf("return_error(%q), want %q", got, want)
		}
		if r.exit != 0 {
			t.Errorf("python exit %d, want 0 (return_error exits 0 outside fetch): %s", r.exit, r)
		}
		// The only war-room entry is return_error's own.
		if n := len(r.all("results")); n != 1 {
			t.Errorf("%d results calls, want only return_error's: %s", n, r)
		}
	})

	t.Run("error in fetch-incidents: raises, no setLastRun", func(t *testing.T) {
		in := input{Command: "fetch-incidents", Params: badParams, LastRun: map[string]any{"version": 1}}
		res, _ := h.direct(t, map[string]any{"command": in.Command, "params": in.Params, "lastRun": in.LastRun})
		want := errorMessage(t, res)
		r := h.run(t, in)
		var got string
		r.arg(t, "return_error", &got)
		if got != want {
			t.Errorf("return_error(%q), want %q", got, want)
		}
		if len(r.all("setLastRun")) != 0 || len(r.all("incidents")) != 0 {
			t.Errorf("setLastRun/incidents called on a failed fetch: %s", r)
		}
		if r.exit == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("want the fetch to raise %q: %s", want, r)
		}
	})

	t.Run("unusable envelope: exit 2 is an error", func(t *testing.T) {
		r := h.run(t, input{Command: "no-such-command"})
		var got string
		r.arg(t, "return_error", &got)
		if !strings.Contains(got, `Unknown command "no-such-command"`) {
			t.Errorf("return_error(%q), want the binary's unknown-command message", got)
		}
	})

	t.Run("missing binary names MSMA_BINARY", func(t *testing.T) {
		for name, env := range map[string][]string{
			"not on PATH":           {"MSMA_BINARY="},
			"MSMA_BINARY not found": {"MSMA_BINARY=" + filepath.Join(h.scratch, "nope")},
		} {
			r := h.run(t, input{Command: "test-module"}, env...)
			var got string
			r.arg(t, "return_error", &got)
			if !strings.Contains(got, "MSMA_BINARY") || !strings.Contains(got, "ms-management-activity") {
				t.Errorf("%s: return_error(%q) should name MSMA_BINARY and the executable", name, got)
			}
		}
	})

	t.Run("binary found on PATH", func(t *testing.T) {
		r := h.run(t, input{Command: "test-module", Params: badParams}, "MSMA_BINARY=", "PATH="+h.binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		var got string
		r.arg(t, "return_error", &got)
		if !strings.Contains(got, "invalid parameter timeout") {
			t.Errorf("return_error(%q): the binary on PATH was not run: %s", got, r)
		}
	})

	t.Run("failures of the executable, with a stand-in", func(t *testing.T) {
		for _, c := range []struct {
			name string
			env  []string
			want string
		}{
			{"killed after budget and grace", []string{"MSMA_TIMEOUT=0.3", "MSMA_GRACE=0.2", "FAKE_SLEEP=10"}, "was killed: test-module ran past its 0.3 s budget (MSMA_TIMEOUT) + 0.2 s grace (MSMA_GRACE)"},
			{"no JSON result", []string{"FAKE_EXIT=2", "FAKE_STDERR=panic: boom\nexit"}, "exited with code 2 without a JSON result. exit"},
			{"exit 1 without an error entry", []string{"FAKE_EXIT=1", `FAKE_STDOUT={"results":[]}`}, "exited with code 1."},
			{"error entry with exit 0", []string{`FAKE_STDOUT={"results":[{"Type":4,"ContentsFormat":"text","Contents":"our message"}]}`}, "our message"},
		} {
			r := h.run(t, input{Command: "test-module"}, append([]string{"MSMA_BINARY=" + h.fake}, c.env...)...)
			var got string
			r.arg(t, "return_error", &got)
			if !strings.Contains(got, c.want) {
				t.Errorf("%s: return_error(%q), want it to contain %q", c.name, got, c.want)
			}
		}
	})

	t.Run("failed fetch keeps lastRun even if the executable sent one", func(t *testing.T) {
		out := `{"results":[{"Type":4,"ContentsFormat":"text","Contents":"listing failed"}],"incidents":[{"name":"x"}],"lastRun":{"version":1}}`
		r := h.run(t, input{Command: "fetch-incidents"}, "MSMA_BINARY="+h.fake, "FAKE_STDOUT="+out, "FAKE_EXIT=1")
		var got string
		r.arg(t, "return_error", &got)
		if got != "listing failed" || len(r.all("setLastRun"))+len(r.all("incidents")) != 0 {
			t.Errorf("want return_error(listing failed) and no setLastRun/incidents: %s", r)
		}
	})

	t.Run("engine without updateModuleHealth", func(t *testing.T) {
		out := `{"results":[{"Type":11,"ContentsFormat":"text","Contents":"careful"},{"Type":1,"ContentsFormat":"text","Contents":"ok"}]}`
		r := h.run(t, input{Command: "test-module"}, "MSMA_BINARY="+h.fake, "FAKE_STDOUT="+out, "MOCK_NO_HEALTH=1")
		if r.exit != 0 || len(r.all("return_error")) != 0 || len(r.all("results")) != 2 {
			t.Errorf("want both entries and no error: %s", r)
		}
	})

	t.Run("envelope and mapping, with a stand-in executable", func(t *testing.T) {
		ctx := map[string]any{"token": map[string]any{"expires": 123.0}}
		for _, command := range []string{"ms-management-activity-list-content", "fetch-incidents"} {
			fetch := command == "fetch-incidents"
			in := input{Command: command, Params: map[string]any{"base_url": "https://x/", "isFetch": true},
				Args: map[string]any{"content_type": "Audit.General"}, LastRun: map[string]any{"version": 1.0, "cursor": "a"},
				IntegrationContext: ctx}
			note := map[string]any{"Type": 1, "ContentsFormat": "json", "Contents": []any{map[string]any{"Id": "1"}}, "HumanReadable": "### x\n"}
			warn := map[string]any{"Type": 11, "ContentsFormat": "text", "Contents": "2 blobs expired"}
			out := map[string]any{"results": []any{note, warn}, "integrationContext": map[string]any{"fresh": true}}
			if fetch {
				out = map[string]any{"results": []any{warn}, "incidents": []any{map[string]any{"name": "i1", "rawJSON": "{}"}},
					"lastRun": map[string]any{"version": 1, "cursor": "b", "diagnostics": map[string]any{
						"incidents": 1, "warnings": []any{"2 blobs expired", "window clamped"}, "error": "listing Audit.Exchange failed"}}}
			}
			stdout, _ := json.Marshal(out)
			r := h.run(t, in, "MSMA_BINARY="+h.fake, "FAKE_STDOUT="+string(stdout), "FAKE_STDERR=level=INFO msg=hello")
			if len(r.all("return_error")) != 0 || r.exit != 0 {
				t.Fatalf("%s: unexpected failure: %s", command, r)
			}
			var env map[string]any
			r.envelope(t, &env)
			want := map[string]any{"command": command, "params": in.Params, "args": in.Args, "integrationContext": ctx, "budgetSeconds": 150}
			if fetch {
				want["lastRun"] = in.LastRun
			}
			if !jsonEqual(t, env, want) {
				t.Errorf("%s: envelope %v, want %v", command, env, want)
			}
			var dbg string
			r.arg(t, "debug", &dbg)
			if dbg != "level=INFO msg=hello" {
				t.Errorf("%s: debug(%q), want the executable's stderr", command, dbg)
			}
			var health string
			r.arg(t, "updateModuleHealth", &health)
			wantHealth := "2 blobs expired"
			if fetch {
				wantHealth += "\nwindow clamped\nlisting Audit.Exchange failed" // each once
			}
			if health != wantHealth {
				t.Errorf("%s: updateModuleHealth(%q), want %q", command, health, wantHealth)
			}
			if fetch {
				var lastRun, incidents any
				r.arg(t, "setLastRun", &lastRun)
				r.arg(t, "incidents", &incidents)
				if !jsonEqual(t, lastRun, out["lastRun"]) || !jsonEqual(t, incidents, out["incidents"]) {
					t.Errorf("fetch: setLastRun(%v) incidents(%v), want %v %v", lastRun, incidents, out["lastRun"], out["incidents"])
				}
				if len(r.all("results")) != 0 || len(r.all("setIntegrationContext")) != 0 {
					t.Errorf("fetch: no war-room results and no context expected: %s", r)
				}
				if len(r.all("getLastRun")) != 1 {
					t.Errorf("fetch: getLastRun should be read once: %s", r)
				}
				continue
			}
			if got := r.all("results"); len(got) != 2 {
				t.Errorf("%s: want both entries passed through: %s", command, r)
			}
			var newCtx any
			r.arg(t, "setIntegrationContext", &newCtx)
			if !jsonEqual(t, newCtx, out["integrationContext"]) {
				t.Errorf("%s: setIntegrationContext(%v)", command, newCtx)
			}
			if len(r.all("getLastRun"))+len(r.all("setLastRun"))+len(r.all("incidents")) != 0 {
				t.Errorf("%s: lastRun/incidents touched outside fetch: %s", command, r)
			}
		}
	})

	t.Run("budget passed to the executable (MSMA_TIMEOUT), fractions allowed", func(t *testing.T) {
		r := h.run(t, input{Command: "test-module"}, "MSMA_BINARY="+h.fake, "MSMA_TIMEOUT=42.5", `FAKE_STDOUT={"results":[]}`)
		var env map[string]any
		r.envelope(t, &env)
		if env["budgetSeconds"] != 42.5 {
			t.Errorf("budgetSeconds %v, want 42.5 from MSMA_TIMEOUT", env["budgetSeconds"])
		}
	})

	// The deadline end to end, scaled down through the same mechanism: a
	// 2 s budget (MSMA_TIMEOUT=2) against an emulator answering each request
	// after 100 ms (40 blobs: about 2 s of downloads at 2 in parallel). Each fetch stops on its own, before the bridge would kill
	// it, with the incidents it has and a lastRun the next run continues
	// from: over the runs, every record once.
	t.Run("fetch-incidents at its budget: partial, continued, none lost or duplicated, no kill", func(t *testing.T) {
		srv, params := startEmulator(t)
		params["isFetch"] = true
		params["content_types_to_fetch"] = []any{"Audit.General"}
		params["first_fetch_delta"] = "3 hours"
		params["download_concurrency"] = "2"
		now := srv.Now()
		var all []string
		for b := 0; b < 40; b++ {
			created := now.Add(-2*time.Hour + time.Duration(b)*time.Minute)
			ids := []string{fmt.Sprintf("s-%02d-a", b), fmt.Sprintf("s-%02d-b", b)}
			srv.AddBlob(tenant, "Audit.General", created, record(ids[0], created.Add(-time.Minute)), record(ids[1], created.Add(-time.Minute)))
			all = append(all, ids...)
		}
		srv.SetLatency(100 * time.Millisecond)
		seen := map[string]int{}
		var lastRun, ictx map[string]any
		runs, cut := 0, 0
		for len(seen) < len(all) && runs < 12 {
			runs++
			r := h.run(t, input{Command: "fetch-incidents", Params: params, LastRun: lastRun, IntegrationContext: ictx}, "MSMA_TIMEOUT=2", "MSMA_GRACE=5")
			if errs := r.all("return_error"); len(errs) != 0 {
				// On a loaded machine a run can spend its whole budget before
				// the first blob: it then fails on its own, saying so, and
				// keeps the previous lastRun. A kill is never acceptable.
				if msg := string(errs[0].Args[0]); strings.Contains(msg, "was killed") || !strings.Contains(msg, "ran out of time") ||
					len(r.all("setLastRun"))+len(r.all("incidents")) != 0 {
					t.Fatalf("run %d failed: %s", runs, r)
				}
				t.Logf("run %d ran out of time before its first incident (a loaded machine); the next run starts from the same lastRun", runs)
				continue
			}
			if r.exit != 0 {
				t.Fatalf("run %d: python exit %d: %s", runs, r.exit, r)
			}
			var incidents []struct {
				RawJSON string `json:"rawJSON"`
			}
			r.arg(t, "incidents", &incidents)
			for _, inc := range incidents {
				var rec struct{ Id string }
				if err := json.Unmarshal([]byte(inc.RawJSON), &rec); err != nil {
					t.Fatal(err)
				}
				seen[rec.Id]++
			}
			r.arg(t, "setLastRun", &lastRun)
			if d, _ := lastRun["diagnostics"].(map[string]any); d != nil && strings.Contains(fmt.Sprint(d["error"]), "ran out of time") {
				cut++
			}
			if c := r.all("setIntegrationContext"); len(c) == 1 {
				r.arg(t, "setIntegrationContext", &ictx)
			}
		}
		lost, dup := 0, 0
		for _, id := range all {
			if seen[id] == 0 {
				lost++
			} else if seen[id] > 1 {
				dup++
			}
		}
		t.Logf("%d records in %d runs, %d stopped by the budget", len(all), runs, cut)
		if lost != 0 || dup != 0 {
			t.Errorf("%d lost, %d duplicated", lost, dup)
		}
		if cut == 0 {
			t.Errorf("no run was stopped by the budget: the case proves nothing (%d runs)", runs)
		}
	})

	t.Run("list-content at its budget: the records so far and a warning, no kill", func(t *testing.T) {
		srv, params := startEmulator(t)
		params["download_concurrency"] = "2"
		now := srv.Now()
		for b := 0; b < 40; b++ {
			created := now.Add(-2*time.Hour + time.Duration(b)*time.Minute)
			srv.AddBlob(tenant, "Audit.General", created, record(fmt.Sprintf("l-%02d", b), created.Add(-time.Minute)))
		}
		srv.SetLatency(100 * time.Millisecond)
		in := input{Command: "ms-management-activity-list-content", Params: params, Args: map[string]any{
			"content_type": "Audit.General",
			"start_time":   now.Add(-3 * time.Hour).Format("2006-01-02T15:04:05"),
			"end_time":     now.Format("2006-01-02T15:04:05"),
		}}
		r := h.run(t, in, "MSMA_TIMEOUT=2", "MSMA_GRACE=5")
		if r.exit != 0 || len(r.all("return_error")) != 0 {
			t.Fatalf("list-content failed (killed?): %s", r)
		}
		all := ""
		for _, c := range r.all("results") {
			all += string(c.Args[0])
		}
		if !strings.Contains(all, "l-00") || strings.Contains(all, "l-39") {
			t.Errorf("want the first records and not the last: %.500s", all)
		}
		var health string
		r.arg(t, "updateModuleHealth", &health)
		if !strings.Contains(all, "is incomplete") || !strings.Contains(health, "is incomplete") {
			t.Errorf("no warning that the list is incomplete: %.500s / health %q", all, health)
		}
	})
}

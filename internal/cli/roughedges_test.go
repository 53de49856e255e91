package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// The rough edges a new user hit (issue 17), one test each.

// TestStateFolderCheckedBeforeTheCommand: a --state folder that cannot be
// written is refused before the command runs (it used to print 1,500
// incidents, or "ok", and then fail saving lastRun).
func TestStateFolderCheckedBeforeTheCommand(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"fetch-incidents", "test-module"} {
		before := f.srv.Count("token") + f.srv.Count("subscriptions/list") + f.srv.Count("subscriptions/content")
		r := runCLI(t, f.env, false, command, "--params", f.params, "--state", filepath.Join(blocker, "state"))
		after := f.srv.Count("token") + f.srv.Count("subscriptions/list") + f.srv.Count("subscriptions/content")
		if r.code != commands.ExitBadEnvelope || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q; want exit 2 and nothing printed", command, r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, "cannot be written") || !strings.Contains(r.stderr, "Hint: ") {
			t.Errorf("%s: stderr does not say the state folder cannot be written:\n%s", command, r.stderr)
		}
		if after != before {
			t.Errorf("%s: %d requests before refusing", command, after-before)
		}
	}
}

// TestStateDefaultFolder: --state without a value keeps the state outside
// the working tree, in $XDG_STATE_HOME (or ~/.local/state)
// /ms-management-activity/<params file name>.
func TestStateDefaultFolder(t *testing.T) {
	f := newEmulatorFixture(t, "yaml") // params.yml
	for _, c := range []struct {
		name string
		env  map[string]string
		dir  func(root string) string
	}{
		{"XDG_STATE_HOME", map[string]string{"XDG_STATE_HOME": "ROOT"}, func(root string) string { return filepath.Join(root, "ms-management-activity", "params") }},
		{"HOME", map[string]string{"HOME": "ROOT"}, func(root string) string {
			return filepath.Join(root, ".local", "state", "ms-management-activity", "params")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			env := map[string]string{}
			for k, v := range f.env {
				env[k] = v
			}
			for k, v := range c.env {
				env[k] = strings.ReplaceAll(v, "ROOT", root)
			}
			// --state is last, then followed by another flag: both mean
			// "no value".
			for _, argv := range [][]string{
				{"test-module", "--params", f.params, "--state"},
				{"fetch-incidents", "--state", "--params", f.params},
			} {
				r := runCLI(t, env, false, argv...)
				if r.code != 0 {
					t.Fatalf("%v: %+v", argv, r)
				}
			}
			for _, name := range []string{integrationContextFile, lastRunFile} {
				if _, err := os.Stat(filepath.Join(c.dir(root), name)); err != nil {
					t.Errorf("%s not in the default state folder: %v", name, err)
				}
			}
		})
	}
	r := runCLI(t, f.env, false, "test-module", "--params", f.params, "--state")
	if r.code != commands.ExitBadEnvelope || !strings.Contains(r.stderr, "XDG_STATE_HOME") {
		t.Errorf("--state without a value, HOME or XDG_STATE_HOME: %+v", r)
	}
}

// TestHelpOfDemoAndEmulator: --help is help (exit 0), not a usage error.
func TestHelpOfDemoAndEmulator(t *testing.T) {
	for _, command := range []string{"demo", "emulator"} {
		for _, flag := range []string{"--help", "-h"} {
			r := runCLI(t, nil, false, command, flag)
			if r.code != 0 || !strings.Contains(r.stdout, "usage: ms-management-activity "+command) {
				t.Errorf("%s %s: %+v", command, flag, r)
			}
		}
	}
}

// TestArgumentErrorsExitTwo: every argument error exits 2, with no
// "--log-level debug" hint (nothing was requested), whether the command
// line checks it or the command does.
func TestArgumentErrorsExitTwo(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	// The emulator's clock is the host's: the ranges are placed around it.
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02T15:04:05") }
	for _, argv := range [][]string{
		{"list-content", "content_type=Audit.General", "limit=abc"},
		{"list-content", "content_type=Audit.General", "start_time=2026-11-28T00:00:00"},
		{"list-content", "content_type=Audit.General", "workloads_filter=OneDrve"},
		{"list-content", "content_typ=Audit.General"},
		{"list-content", "content_type=Audit.General", "start_time=" + day(5), "end_time=" + day(7)},
		{"list-content", "content_type=Audit.General", "start_time=" + day(-10), "end_time=" + day(-9)},
		// search-records places the range against the API's clock, after
		// its first request: still an argument the command refuses.
		{"search-records", "user_ids=x", "start_time=" + day(5), "end_time=" + day(7)},
		{"search-records", "user_ids=x", "start_time=" + day(-10), "end_time=" + day(-9)},
		{"search-records", "user_ids=x", "limit=abc"},
		{"search-records", "client_ips=10.0.0.0/33"},
		{"start-subscription", "content_type=Audit.Genral!"},
	} {
		r := runCLI(t, f.env, false, append(argv, "--params", f.params)...)
		if r.code != commands.ExitBadEnvelope || strings.Contains(r.stderr, "--log-level") || !strings.Contains(r.stderr, "Error: ") {
			t.Errorf("%v: exit %d, want 2 without a --log-level hint:\n%s", argv, r.code, r.stderr)
		}
	}
}

// TestMessagesSpeakCommandLine: on the command line, messages name what to
// type, not the engine's Help tab or Test button.
func TestMessagesSpeakCommandLine(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	state := t.TempDir()
	r := runCLI(t, f.env, false, "auth-reset", "--params", f.params, "--state", state)
	if r.code != 0 || strings.Contains(r.stdout, "**Test**") || !strings.Contains(r.stdout, "test-module") {
		t.Errorf("auth-reset: %+v", r)
	}
	wrong := map[string]string{"MSMA_CLIENT_SECRET": "wrong-secret-value-123"}
	r = runCLI(t, wrong, false, "test-module", "--params", f.params)
	if r.code != 1 || strings.Contains(r.stderr, "Help tab") || !strings.Contains(r.stderr, "help params") {
		t.Errorf("test-module with a wrong secret: %+v", r)
	}
}

// TestInterrupted: a command stopped by Ctrl-C says so and exits 130, not
// "Error: context canceled" with exit 0.
func TestInterrupted(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb testutil.SyncBuffer
	code := Run(ctx, []string{"list-subscriptions", "--params", f.params}, &Streams{Out: &out, Err: &errb}, testConfig(t, func(k string) string { return f.env[k] }))
	if code != ExitInterrupted || !strings.Contains(errb.String(), "Interrupted") || strings.Contains(errb.String(), "context canceled") {
		t.Errorf("exit %d, stderr %q; want %d and \"Interrupted\"", code, errb.String(), ExitInterrupted)
	}
}

// TestEmulatorAddrPortOnly: --addr 8443 means 127.0.0.1:8443.
func TestEmulatorAddrPortOnly(t *testing.T) {
	o, err := parseEmulatorArgs([]string{"--addr", "8443"})
	if err != nil || o.addr != "127.0.0.1:8443" {
		t.Errorf("--addr 8443: %+v %v", o, err)
	}
	if _, err := parseEmulatorArgs([]string{"--addr", "0.0.0.0:8443"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("--addr 0.0.0.0:8443: %v", err)
	}
}

// TestParameterErrorsHintTheFile: a parameter value a command refuses
// (a filter typo, a bad timeout, a broken boolean, a missing credential)
// exits 1 with the hint to fix it in the params file, whatever the
// message's wording, never the "--log-level debug" hint.
func TestParameterErrorsHintTheFile(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	base, err := os.ReadFile(f.params)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"workloads_filter: OneDrve",
		"record_types_filter: Foo",
		"operations_filter: fileaccessed",
		"first_fetch_delta: soon",
		"timeout: soon",
		"self_deployed: yes please",
		"content_types_to_fetch: Audit.Genral",
	} {
		key, _, _ := strings.Cut(line, ":")
		var lines []string
		for _, l := range strings.Split(string(base), "\n") {
			if !strings.HasPrefix(l, key+":") {
				lines = append(lines, l)
			}
		}
		pf := filepath.Join(t.TempDir(), "p.yml")
		if err := os.WriteFile(pf, []byte(strings.Join(append(lines, line), "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, command := range []string{"fetch-incidents", "test-module"} {
			r := runCLI(t, f.env, false, command, "--params", pf)
			if r.code != commands.ExitFailed || !strings.Contains(r.stderr, "Hint: fix it in "+pf) || strings.Contains(r.stderr, "--log-level") {
				t.Errorf("%s with %q: exit %d, want 1 and the hint to fix it in the file:\n%s", command, line, r.code, r.stderr)
			}
		}
	}
	// A missing credential is a parameter to fix too.
	r := runCLI(t, nil, false, "list-subscriptions", "--params", f.params)
	if r.code != commands.ExitFailed || !strings.Contains(r.stderr, "Hint: fix it in "+f.params) {
		t.Errorf("no client secret: exit %d, want 1 and the hint to fix it in the file:\n%s", r.code, r.stderr)
	}
}

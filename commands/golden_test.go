package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/params"
)

var update = flag.Bool("update", false, "rewrite the golden result.json files")

// goldenNow is the fixed clock of every golden case.
var goldenNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// goldenCase is one folder of testdata/golden: envelope.json in, result.json
// (stdout) and exit.txt (the exit code, absent = 0) out, and optionally
// scenario.json, the emulator state the case needs. cli-exit.txt, present
// exactly when the command refused an argument (Output.ArgumentError), is
// the human command line's exit code for the same run: 2.
type goldenCase struct {
	name string
	dir  string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenCase
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, goldenCase{name: filepath.Base(d), dir: d})
		}
	}
	if len(out) == 0 {
		t.Fatal("no golden cases found in testdata/golden")
	}
	return out
}

// goldenRun runs one case through the real dispatcher and returns its stdout
// bytes (with the emulator's address replaced by {{EMULATOR}}), exit code and
// the Env the handler saw; argErr is the first run's Output.ArgumentError.
func goldenRun(t *testing.T, c goldenCase) (stdout []byte, code int, argErr bool, seen *Env) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.dir, "envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	fake := clock.NewFake(goldenNow)
	deps := &Deps{Clock: fake, observe: func(e *Env) { seen = e }}
	var emulatorURL string
	var applied *appliedScenario
	if sc, err := os.ReadFile(filepath.Join(c.dir, "scenario.json")); err == nil {
		applied = applyScenario(t, sc, fake, deps)
		emulatorURL = applied.url
		raw = bytes.ReplaceAll(raw, []byte("{{EMULATOR}}"), []byte(emulatorURL))
	} else {
		// No emulator: nothing may reach the network.
		deps.HTTPClient = func(*params.Params) *http.Client {
			return &http.Client{Transport: failingTransport{t}}
		}
	}
	envl, err := DecodeEnvelope(raw)
	var out *Output
	if err != nil {
		out, code = ErrorOutput(err.Error()), ExitBadEnvelope
	} else {
		out, code = Run(context.Background(), envl, deps)
	}
	argErr = out.ArgumentError
	var result any = normalizeGolden(out)
	if applied != nil && len(applied.runs) > 0 && envl != nil {
		// A case of several runs: each run gets the previous one's lastRun
		// (the engine keeps it when a run fails), and the result is every
		// run's output with its exit code.
		type runResult struct {
			Exit   int     `json:"exit"`
			Output *Output `json:"output"`
		}
		all := []runResult{{code, out}}
		lastRun := envl.LastRun
		for _, next := range applied.runs {
			if code == 0 {
				if lastRun, err = json.Marshal(out.LastRun); err != nil {
					t.Fatal(err)
				}
			}
			applied.before(t, next, fake)
			e := *envl
			e.LastRun = lastRun
			out, code = Run(context.Background(), &e, deps)
			all = append(all, runResult{code, normalizeGolden(out)})
		}
		result = all
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(result); err != nil {
		t.Fatal(err)
	}
	stdout = buf.Bytes()
	if emulatorURL != "" {
		stdout = bytes.ReplaceAll(stdout, []byte(emulatorURL), []byte("{{EMULATOR}}"))
	}
	return stdout, code, argErr, seen
}

// goldenCLIExit is the command line's exit code for a run whose protocol
// exit is code: a refused argument is a command-line mistake there (exit 2,
// internal/cli); 0 when it is the same as code (no cli-exit.txt).
func goldenCLIExit(code int, argErr bool) int {
	if argErr && code != ExitBadEnvelope {
		return ExitBadEnvelope
	}
	return 0
}

// normalizeGolden keeps only which integrationContext keys were stored:
// tokens and cache blobs differ on every run, so the golden shows what is
// persisted but stays stable.
func normalizeGolden(out *Output) *Output {
	if out.IntegrationContext != nil {
		norm := map[string]any{}
		for k := range out.IntegrationContext {
			norm[k] = "<stored>"
		}
		out.IntegrationContext = norm
	}
	return out
}

type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("golden case without scenario.json made a network request to %s", r.URL.Host)
	return nil, http.ErrNotSupported
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got, code, argErr, _ := goldenRun(t, c)
			resultPath := filepath.Join(c.dir, "result.json")
			exitPath := filepath.Join(c.dir, "exit.txt")
			cliExitPath := filepath.Join(c.dir, "cli-exit.txt")
			cliCode := goldenCLIExit(code, argErr)
			if *update {
				if err := os.WriteFile(resultPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				for _, f := range []struct {
					path string
					code int
				}{{exitPath, code}, {cliExitPath, cliCode}} {
					if f.code == 0 {
						_ = os.Remove(f.path)
					} else if err := os.WriteFile(f.path, []byte(strconv.Itoa(f.code)+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			want, err := os.ReadFile(resultPath)
			if err != nil {
				t.Fatalf("%v (run go test ./commands -run TestGolden -update to create it)", err)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &wantV); err != nil {
				t.Fatalf("%s: %v", resultPath, err)
			}
			if diff := cmp.Diff(wantV, gotV); diff != "" {
				t.Errorf("result differs from %s (-want +got):\n%s", resultPath, diff)
			}
			wantCode := 0
			if b, err := os.ReadFile(exitPath); err == nil {
				wantCode, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			if code != wantCode {
				t.Errorf("exit code = %d, want %d", code, wantCode)
			}
			wantCLI := 0
			if b, err := os.ReadFile(cliExitPath); err == nil {
				wantCLI, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			if cliCode != wantCLI {
				t.Errorf("the command line's exit code = %d, want %d from cli-exit.txt (0: none, the same as exit.txt); Output.ArgumentError = %v", cliCode, wantCLI, argErr)
			}
		})
	}
}

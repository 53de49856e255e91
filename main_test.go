package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// TestBinaryProtocol runs envelopes through the built binary: stdin in,
// exactly one JSON result on stdout, the exit code of docs/protocol.md, logs only
// on stderr.
func TestBinaryProtocol(t *testing.T) {
	bin := testutil.BuildBinary(t)
	huge := append([]byte(`{"command":"test-module","params":{"x":"`), bytes.Repeat([]byte("a"), 64<<20)...)
	huge = append(huge, `"}}`...)
	tests := []struct {
		name     string
		stdin    []byte
		wantCode int
		wantMsg  string
	}{
		{"unknown command", []byte(`{"command":"nope"}`), 2, `Unknown command "nope"`},
		{"not JSON", []byte("x\n"), 2, "not valid JSON"},
		{"not an object", []byte(`[1]`), 2, "must be a JSON object"},
		{"no command", []byte(`{}`), 2, `no "command" field`},
		{"over 64 MiB", huge, 2, "larger than 64 MiB"},
		{"handler reached", []byte(`{"command":"ms-management-activity-list-subscriptions","params":{"timeout":"x"}}`), 1, "Failed to execute ms-management-activity-list-subscriptions command. Error: invalid parameter timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Stdin = bytes.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d (stderr: %s)", code, tc.wantCode, stderr.String())
			}
			dec := json.NewDecoder(&stdout)
			var res struct {
				Results []struct {
					Type     int
					Contents string
				} `json:"results"`
			}
			if err := dec.Decode(&res); err != nil {
				t.Fatalf("stdout is not one JSON result: %v", err)
			}
			if dec.More() {
				t.Error("stdout holds more than one JSON value")
			}
			if len(res.Results) != 1 || res.Results[0].Type != 4 || !strings.Contains(res.Results[0].Contents, tc.wantMsg) {
				t.Errorf("results = %+v, want one error entry containing %q", res.Results, tc.wantMsg)
			}
			if strings.Contains(stdout.String(), "goroutine ") {
				t.Error("stdout contains a Go stack trace")
			}
		})
	}
}

func TestLogLevelFlag(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(clock.Real{}, []string{"--log-level", "loud"}, strings.NewReader(`{"command":"nope"}`), &out, &errb, func(string) string { return "" })
	if code != 2 || !strings.Contains(errb.String(), "unknown log level") {
		t.Errorf("code=%d stderr=%q", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	code = run(clock.Real{}, nil, strings.NewReader(`x`), &out, &errb, func(k string) string {
		if k == "MSMA_LOG_LEVEL" {
			return "error"
		}
		return ""
	})
	if code != 2 || !strings.Contains(errb.String(), "level=ERROR") {
		t.Errorf("code=%d stderr=%q", code, errb.String())
	}
}

// terminalStdin is a stdin that reports itself as a terminal.
type terminalStdin struct{ strings.Reader }

func (terminalStdin) Stat() (os.FileInfo, error) { return charDevice{}, nil }

type charDevice struct{ os.FileInfo }

func (charDevice) Mode() os.FileMode { return os.ModeDevice | os.ModeCharDevice | 0o620 }

// TestBareBinaryOnATerminal: run without arguments from a terminal, the
// binary says what it expects instead of waiting silently (issue 17).
func TestBareBinaryOnATerminal(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(clock.Real{}, nil, &terminalStdin{}, &out, &errb, func(string) string { return "" })
	if code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "ms-management-activity help") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

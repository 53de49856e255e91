package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// runCLILevel is runCLI with a log level, as main passes --log-level.
func runCLILevel(t *testing.T, env map[string]string, level string, argv ...string) cliRun {
	t.Helper()
	var out, errb testutil.SyncBuffer
	cfg := testConfig(t, func(k string) string { return env[k] })
	cfg.LogLevel = level
	code := Run(context.Background(), argv, &Streams{Out: &out, Err: &errb, Width: 120}, cfg)
	return cliRun{code, out.String(), errb.String()}
}

// TestLogLevelDebugShowsRequests: --log-level debug prints one line per
// HTTP request (token endpoint and API alike) with method, URL, status,
// bytes, duration and attempt, and --log-level info one summary line per
// command; neither shows the secret (issue 17: debug showed no requests
// although the README and the hints said it did).
func TestLogLevelDebugShowsRequests(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	r := runCLILevel(t, f.env, "debug", "list-subscriptions", "--params", f.params)
	noSecrets(t, r, f.tenant.secret)
	if r.code != 0 {
		t.Fatalf("list-subscriptions: %+v", r)
	}
	var requests []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "HTTP request") {
			requests = append(requests, line)
		}
	}
	if len(requests) != 3 {
		t.Fatalf("%d request lines, want 3 (token endpoint discovery, token, subscriptions/list):\n%s", len(requests), r.stderr)
	}
	for _, want := range []string{"method=POST", "/oauth2/v2.0/token", "method=GET", "subscriptions/list", "status=200", "bytes=", "duration=", "attempt=1"} {
		if !strings.Contains(strings.Join(requests, "\n"), want) {
			t.Errorf("request lines lack %q:\n%s", want, strings.Join(requests, "\n"))
		}
	}
	if !strings.Contains(r.stderr, "command finished") {
		t.Errorf("no summary line at debug level:\n%s", r.stderr)
	}

	r = runCLILevel(t, f.env, "info", "list-subscriptions", "--params", f.params)
	if r.code != 0 || strings.Contains(r.stderr, "HTTP request") || strings.Count(r.stderr, "command finished") != 1 ||
		!strings.Contains(r.stderr, "http_requests=3") || !strings.Contains(r.stderr, "exit=0") {
		t.Errorf("info level: want exactly one summary line and no request lines:\n%s", r.stderr)
	}
}

// TestLogLevelDebugShowsRetries: each retry decision is one debug line
// (attempt, wait, the error), and the summary counts the error answers:
// before, two 503s retried to a success read "http_failed=0".
func TestLogLevelDebugShowsRetries(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	f.srv.FailNext("subscriptions/list", 2, emulator.Status(503))
	var out, errb testutil.SyncBuffer
	cfg := testConfig(t, func(k string) string { return f.env[k] })
	cfg.LogLevel = "debug"
	cfg.Clock = clock.NewFake(time.Now()) // the back-off waits on the fake clock
	code := Run(context.Background(), []string{"list-subscriptions", "--params", f.params}, &Streams{Out: &out, Err: &errb, Width: 120}, cfg)
	stderr := errb.String()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	var retries []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "msg=retrying") {
			retries = append(retries, line)
		}
	}
	if len(retries) != 2 || !strings.Contains(retries[0], "attempt=1") || !strings.Contains(retries[1], "attempt=2") ||
		!strings.Contains(retries[0], "wait=") || !strings.Contains(retries[0], "503") {
		t.Errorf("want 2 retry lines (after attempt=1 and attempt=2, with wait= and the 503):\n%s", strings.Join(retries, "\n"))
	}
	if !strings.Contains(stderr, "http_error_status=2") || !strings.Contains(stderr, "http_no_answer=0") {
		t.Errorf("summary does not count the two 503 answers:\n%s", stderr)
	}
}

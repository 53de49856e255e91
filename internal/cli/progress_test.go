package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// runCLIProgress is runCLI with stdout never a terminal and stderr a
// terminal or not, so stdout can be compared byte for byte.
func runCLIProgress(t *testing.T, env map[string]string, stderrTTY bool, argv ...string) cliRun {
	t.Helper()
	var out, errb testutil.SyncBuffer
	streams := &Streams{Out: &out, Err: &errb, ErrTTY: stderrTTY}
	code := Run(context.Background(), argv, streams, testConfig(t, func(k string) string { return env[k] }))
	return cliRun{code, out.String(), errb.String()}
}

// TestProgressOnlyOnATerminal: with stderr a terminal (injected), list-content
// reports pages, blobs and records on stderr; without, stderr stays quiet;
// stdout is byte-identical either way, for every output mode.
func TestProgressOnlyOnATerminal(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	// A state folder holding a token, so that no run stores a new one
	// (--json prints integrationContext when it changes).
	state := t.TempDir()
	if r := runCLIProgress(t, f.env, false, "test-module", "--params", f.params, "--state", state); r.code != 0 {
		t.Fatalf("test-module: %+v", r)
	}
	for _, argv := range [][]string{
		{"list-content", "content_type=Audit.General", "--params", f.params},
		{"list-content", "content_type=Audit.SharePoint", "--json", "--params", f.params, "--state", state},
	} {
		quiet := runCLIProgress(t, f.env, false, argv...)
		loud := runCLIProgress(t, f.env, true, argv...)
		if quiet.code != 0 || loud.code != 0 {
			t.Fatalf("%v: codes %d %d\n%s\n%s", argv, quiet.code, loud.code, quiet.stderr, loud.stderr)
		}
		if quiet.stdout != loud.stdout {
			t.Errorf("%v: stdout differs with progress on", argv)
		}
		if quiet.stderr != "" {
			t.Errorf("%v: stderr without a terminal = %q, want nothing", argv, quiet.stderr)
		}
		for _, want := range []string{"list-content: pages", "blobs", "records", "rec/s", "1 page listed · 16/16 blobs · 640 records in "} {
			if !strings.Contains(loud.stderr, want) {
				t.Errorf("%v: progress on stderr lacks %q:\n%q", argv, want, loud.stderr)
			}
		}
		if strings.Contains(loud.stdout, "blobs") && !strings.Contains(quiet.stdout, "blobs") {
			t.Errorf("progress leaked to stdout")
		}
	}
}

// TestProgressWithARealTerminal runs the built binary with stderr on a
// pseudo-terminal and stdout on a pipe: progress appears on the terminal,
// and stdout is byte-identical to a run with stderr on a pipe.
func TestProgressWithARealTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testutil.BuildBinary(t)
	f := newEmulatorFixture(t, "yaml")
	args := []string{"list-content", "content_type=Audit.General", "--params", f.params}
	env := append(os.Environ(), "MSMA_CLIENT_SECRET="+f.tenant.secret)

	// stderr on a pipe.
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var pipeOut, pipeErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &pipeOut, &pipeErr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pipe run: %v\n%s", err, pipeErr.String())
	}
	if pipeErr.Len() != 0 {
		t.Errorf("stderr on a pipe = %q, want nothing", pipeErr.String())
	}

	// stderr on a pseudo-terminal.
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	cmd = exec.Command(bin, args...)
	cmd.Env = env
	var ttyOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &ttyOut, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	termText := make(chan string)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once the child exits
		termText <- string(b)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("tty run exited %d", ee.ExitCode())
			}
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("tty run did not finish")
	}
	var onTerm string
	select {
	case onTerm = <-termText:
	case <-time.After(5 * time.Second):
		ptmx.Close()
		onTerm = <-termText
	}
	if !bytes.Equal(pipeOut.Bytes(), ttyOut.Bytes()) {
		t.Errorf("stdout differs when stderr is a terminal")
	}
	if !strings.Contains(onTerm, "blobs") || !strings.Contains(onTerm, "records") {
		t.Errorf("no progress on the terminal: %q", onTerm)
	}
	if strings.Contains(ttyOut.String(), "rec/s") {
		t.Error("progress on stdout")
	}
}

// search-records shows its matches in the progress on a terminal, and
// nothing on stderr otherwise.
func TestSearchProgressShowsMatches(t *testing.T) {
	f := newEmulatorFixture(t, "yaml")
	argv := []string{"search-records", "client_ips=0.0.0.0/0,::/0", "limit=100000", "--params", f.params}
	quiet := runCLIProgress(t, f.env, false, argv...)
	loud := runCLIProgress(t, f.env, true, argv...)
	if quiet.code != 0 || loud.code != 0 {
		t.Fatalf("codes %d %d\n%s\n%s", quiet.code, loud.code, quiet.stderr, loud.stderr)
	}
	if quiet.stderr != "" {
		t.Errorf("stderr without a terminal = %q, want nothing", quiet.stderr)
	}
	for _, want := range []string{"search-records: pages", " matches\n"} {
		if !strings.Contains(loud.stderr, want) {
			t.Errorf("progress on stderr lacks %q:\n%q", want, loud.stderr)
		}
	}
}

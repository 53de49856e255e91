// Command ms-management-activity is a Cortex XSOAR-style plugin executable for
// the Office 365 Management Activity API. The engine runs it once per command
// with one JSON envelope on stdin; it prints one JSON result on stdout and
// exits 0 (ran), 1 (command failed) or 2 (unusable envelope). See docs/protocol.md.
// Given arguments, it is the command line for people (internal/cli).
package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/cli"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/spec"
)

// integrationYML is the integration's definition, the single source of the
// command line's names, help text and argument checks.
//
//go:embed integration.yml
var integrationYML []byte

func main() {
	os.Exit(run(clock.Real{}, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is main without the process: it returns the exit code. clk is the
// clock of every deadline, retry and back-off (tests pass a fake one).
func run(clk clock.Clock, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	level, rest := logLevelFlag(args, getenv("MSMA_LOG_LEVEL"))
	secrets := &redact.Set{}
	logger, err := secrets.Logger(stderr, level)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return commands.ExitBadEnvelope
	}
	if len(rest) > 0 {
		return runHuman(clk, rest, stdout, stderr, getenv, level, secrets)
	}
	if isTerminal(stdin) {
		// A person ran the bare binary: waiting silently for an envelope
		// on the keyboard would look like a hang.
		fmt.Fprintln(stderr, "ms-management-activity reads one JSON envelope on standard input (the engine's protocol); nothing is piped in.\n"+
			"Run \"ms-management-activity help\" for the command line, or \"ms-management-activity demo\" to see it work.")
		return commands.ExitBadEnvelope
	}
	return runProtocol(clk, stdin, stdout, logger, secrets)
}

// isTerminal reports whether r is a terminal (a character device) rather
// than a pipe or a file.
func isTerminal(r io.Reader) bool {
	f, ok := r.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// logLevelFlag takes --log-level out of args (both modes accept it); the
// environment's level applies without it.
func logLevelFlag(args []string, level string) (string, []string) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--log-level" && i+1 < len(args):
			level = args[i+1]
			i++
		case strings.HasPrefix(a, "--log-level="):
			level = strings.TrimPrefix(a, "--log-level=")
		default:
			rest = append(rest, a)
		}
	}
	return level, rest
}

// runProtocol is the engine's mode: envelope on stdin, result on stdout.
func runProtocol(clk clock.Clock, stdin io.Reader, stdout io.Writer, logger *slog.Logger, secrets *redact.Set) int {
	envl, err := commands.ReadEnvelope(stdin)
	if err != nil {
		logger.Error("unusable envelope", "error", err)
		return writeOutput(stdout, commands.ErrorOutput(err.Error()), commands.ExitBadEnvelope, logger)
	}
	out, code := commands.Run(context.Background(), envl, &commands.Deps{Clock: clk, Logger: logger, Secrets: secrets, LimitMemory: commands.SetProcessMemoryLimit})
	return writeOutput(stdout, out, code, logger)
}

func writeOutput(w io.Writer, out *commands.Output, code int, logger *slog.Logger) int {
	// Streamed: the same bytes as a json.Encoder with SetEscapeHTML(false),
	// without holding the whole document in memory.
	if err := commands.WriteOutput(w, out); err != nil {
		logger.Error("writing the result", "error", err)
		return commands.ExitFailed
	}
	return code
}

// runHuman is the command line for people (help, demo, emulator, COMMAND
// name=value ...), until it ends or is interrupted.
func runHuman(clk clock.Clock, args []string, stdout, stderr io.Writer, getenv func(string) string, level string, secrets *redact.Set) int {
	in, err := spec.Parse(integrationYML)
	if err != nil {
		fmt.Fprintf(stderr, "Error: the embedded integration.yml does not parse: %v\n", err)
		return commands.ExitFailed
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return cli.Run(ctx, args, cli.NewStreams(stdout, stderr), cli.Config{Spec: in, Getenv: getenv, LogLevel: level, Secrets: secrets, Clock: clk})
}

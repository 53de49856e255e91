// Command ms-management-activity is a Cortex XSOAR-style plugin executable for
// the Office 365 Management Activity API. The engine runs it once per command
// with one JSON envelope on stdin; it prints one JSON result on stdout and
// exits 0 (ran), 1 (command failed) or 2 (unusable envelope). See PROTOCOL.md.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/redact"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	level := getenv("MSMA_LOG_LEVEL")
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
	secrets := &redact.Set{}
	logger, err := newLogger(stderr, level, secrets)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return commands.ExitBadEnvelope
	}
	if len(rest) > 0 {
		return runHuman(rest, stdout, stderr, getenv, level, secrets)
	}
	return runProtocol(stdin, stdout, logger, secrets)
}

// runProtocol is the engine's mode: envelope on stdin, result on stdout.
func runProtocol(stdin io.Reader, stdout io.Writer, logger *slog.Logger, secrets *redact.Set) int {
	envl, err := commands.ReadEnvelope(stdin)
	if err != nil {
		logger.Error("unusable envelope", "error", err)
		return writeOutput(stdout, commands.ErrorOutput(err.Error()), commands.ExitBadEnvelope, logger)
	}
	out, code := commands.Run(context.Background(), envl, &commands.Deps{Logger: logger, Secrets: secrets})
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
// name=value ...); see cli.go.
func runHuman(args []string, stdout, stderr io.Writer, getenv func(string) string, level string, secrets *redact.Set) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return newHuman(stdout, stderr, getenv, level, secrets).main(ctx, args)
}

// newLogger logs to w (stderr) through the redaction handler, so that no
// secret registered in secrets is ever written.
func newLogger(w io.Writer, level string, secrets *redact.Set) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "", "info":
		l = slog.LevelInfo
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown log level %q: use debug, info, warn or error", level)
	}
	return slog.New(secrets.Handler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))), nil
}

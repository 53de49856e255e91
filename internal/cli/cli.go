// Package cli is the command line for people: "help", "demo", "emulator"
// and every engine command typed as COMMAND name=value ... [--params FILE]
// [--state DIR] [--json]. It builds the envelope the engine would send from
// the arguments, a params file and the environment, runs it through the real
// dispatcher (commands.Run), keeps lastRun and integrationContext in a state
// folder, and prints the result for a person.
//
// Each command parses its own options (args.go, demo.go, emulator.go) and
// writes only to the run's Streams, which alone know about terminals.
package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/internal/version"
)

// Config is what a run of the command line takes from its process.
type Config struct {
	// Spec is the parsed integration.yml: the commands, their arguments and
	// the instance parameters the command line knows.
	Spec *spec.Integration
	// Getenv reads the environment (the MSMA_* variables).
	Getenv func(string) string
	// LogLevel is --log-level or MSMA_LOG_LEVEL; empty is warn.
	LogLevel string
	// Secrets is the run's redaction set, shared with the dispatcher (it
	// also holds IDs such as the tenant, redacted from logs and errors).
	Secrets *redact.Set
	// Clock is the clock of the commands' deadlines and retries (nil: the
	// wall clock).
	Clock clock.Clock
}

// Run runs the command line argv (without the program name) and returns
// the exit code (commands.ExitOK, ExitFailed, ExitBadEnvelope).
func Run(ctx context.Context, argv []string, streams *Streams, cfg Config) int {
	level := cfg.LogLevel
	if strings.TrimSpace(level) == "" {
		// People read stderr: only warnings and errors unless asked.
		level = "warn"
	}
	a := &app{io: streams, catalog: catalog{cfg.Spec}, getenv: cfg.Getenv, secrets: cfg.Secrets, envSecrets: &redact.Set{}, logLevel: level, clock: cfg.Clock}
	return a.main(ctx, argv)
}

// app is one run of the command line.
type app struct {
	io      *Streams
	catalog catalog
	getenv  func(string) string
	// secrets is Config.Secrets; envSecrets holds only the secrets taken
	// from MSMA_* variables: they are blanked from everything printed,
	// output included.
	secrets, envSecrets *redact.Set
	logLevel            string
	clock               clock.Clock // nil: the dispatcher's default, the wall clock
}

// fail prints an error and its hint on stderr and returns the exit code.
func (a *app) fail(err error, code int) int {
	var ue *usageError
	msg := err.Error()
	hint := ""
	if errors.As(err, &ue) {
		hint = ue.hint
	}
	fmt.Fprintf(a.io.Err, "Error: %s\n", a.envSecrets.String(msg))
	if hint != "" {
		fmt.Fprintf(a.io.Err, "Hint: %s\n", a.envSecrets.String(hint))
	}
	return code
}

// printUsage is the short usage on a bare or wrong invocation.
func (a *app) printUsage() {
	fmt.Fprintln(a.io.Err, "usage: ms-management-activity COMMAND [name=value ...] [--params FILE] [--state [DIR]] [--json]")
	fmt.Fprintln(a.io.Err, `run "ms-management-activity help" for the commands, "ms-management-activity demo" to try it`)
}

// main routes argv to its command.
func (a *app) main(ctx context.Context, argv []string) int {
	name, rest := commandWord(argv)
	switch strings.ToLower(name) {
	case "help":
		var words []string
		for _, a := range rest {
			if !strings.HasPrefix(a, "-") {
				words = append(words, a)
			}
		}
		return a.help(words)
	case "demo":
		o, err := parseDemoArgs(rest)
		if err != nil {
			return a.fail(err, commands.ExitBadEnvelope)
		}
		if o.help {
			fmt.Fprint(a.io.Out, demoUsage)
			return commands.ExitOK
		}
		return a.demo(ctx, o)
	case "emulator":
		o, err := parseEmulatorArgs(rest)
		if err != nil {
			return a.fail(err, commands.ExitBadEnvelope)
		}
		if o.help {
			fmt.Fprint(a.io.Out, emulatorUsage)
			return commands.ExitOK
		}
		return a.emulator(ctx, o)
	case "version":
		fmt.Fprintln(a.io.Out, version.Get())
		return commands.ExitOK
	case "":
		if slices.Contains(argv, "-h") || slices.Contains(argv, "--help") {
			return a.help(nil)
		}
		if slices.Contains(argv, "--version") {
			fmt.Fprintln(a.io.Out, version.Get())
			return commands.ExitOK
		}
	}
	return a.runCommand(ctx, argv)
}

// commandWord returns the first word that is not a flag or a flag's value,
// and the other arguments.
func commandWord(argv []string) (string, []string) {
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--state" && (i+1 == len(argv) || strings.HasPrefix(argv[i+1], "-") || strings.Contains(argv[i+1], "=")):
			// --state without a value
		case a == "--params" || a == "--state" || a == "--max-rows" || a == "--addr" || a == "--write-params":
			i++
		case strings.HasPrefix(a, "-") || strings.Contains(a, "="):
		default:
			return a, append(slices.Clone(argv[:i]), argv[i+1:]...)
		}
	}
	return "", argv
}

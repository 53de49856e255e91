package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/secops-go/ms-management-activity/commands"
	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/progress"
)

// runCommand runs one engine command typed on the command line.
func (a *app) runCommand(ctx context.Context, argv []string) int {
	o, err := parseCommandLine(argv)
	if err != nil {
		return a.fail(err, commands.ExitBadEnvelope)
	}
	if o.command == "" {
		a.printUsage()
		return commands.ExitBadEnvelope
	}
	_, code := a.execute(ctx, o)
	return code
}

// execute runs a parsed engine command, prints its output and returns the
// result (nil when the command line itself was wrong) and the exit code.
func (a *app) execute(ctx context.Context, o *commandOptions) (*commands.Output, int) {
	full, err := a.catalog.resolveCommand(o.command)
	if err != nil {
		return nil, a.fail(err, commands.ExitBadEnvelope)
	}
	if o.help {
		return nil, a.help([]string{full})
	}
	if err := a.catalog.checkArgs(full, o.args, o.argOrder); err != nil {
		return nil, a.fail(err, commands.ExitBadEnvelope)
	}
	p, envSecrets, err := loadParams(a.catalog, o.paramsFile, a.getenv)
	if err != nil {
		return nil, a.fail(err, commands.ExitBadEnvelope)
	}
	a.secrets.Add(envSecrets...)
	a.envSecrets.Add(envSecrets...)
	if o.stateDefault {
		if o.stateDir, err = defaultStateDir(a.getenv, o.paramsFile); err != nil {
			return nil, a.fail(err, commands.ExitBadEnvelope)
		}
	}
	if o.stateDir != "" {
		if err := checkStateWritable(o.stateDir); err != nil {
			return nil, a.fail(err, commands.ExitBadEnvelope)
		}
	}
	lastRun, ictx, err := loadState(o.stateDir)
	if err != nil {
		return nil, a.fail(err, commands.ExitBadEnvelope)
	}
	envl := &commands.Envelope{Command: full, Params: p, Args: o.args, IntegrationContext: ictx}
	if full == commands.CmdFetchIncidents {
		envl.LastRun = lastRun
	}
	out, code := a.dispatch(ctx, envl)
	interrupted := ctx.Err() != nil
	if err := saveState(o.stateDir, full, out, code); err != nil {
		a.fail(err, commands.ExitFailed)
		code = commands.ExitFailed
	}
	if interrupted && code != commands.ExitOK {
		// What failed is only the interruption ("context canceled").
		fmt.Fprintln(a.io.Err, "Interrupted: the command was stopped before it finished; nothing was saved.")
		return out, ExitInterrupted
	}
	if err := a.printResult(full, out, o); err != nil {
		return out, a.fail(err, commands.ExitFailed)
	}
	if out.ArgumentError {
		// The command refused an argument before sending anything: a
		// command-line mistake, as when the command line checks it.
		code = commands.ExitBadEnvelope
	}
	for _, e := range out.Results {
		if e.Type == xcontext.TypeError {
			msg, _ := e.Contents.(string)
			a.fail(errors.New(forCommandLine(msg)), code)
			if out.ArgumentError {
				continue
			}
			if hint := errorHint(msg, out.ParameterError, o.paramsFile, a.getenv); hint != "" {
				fmt.Fprintf(a.io.Err, "Hint: %s\n", hint)
			}
		}
	}
	if interrupted {
		// A fetch stopped by Ctrl-C returns what it fully delivered, with
		// the exact position (saved above).
		fmt.Fprintln(a.io.Err, "Interrupted: the command was stopped; the output above is what it finished.")
		return out, ExitInterrupted
	}
	if code == commands.ExitOK && full == commands.CmdFetchIncidents && o.stateDir == "" && !o.quietNotes {
		fmt.Fprintln(a.io.Err, "Note: without --state DIR this position is not kept: the next fetch starts again from first_fetch_delta.")
	}
	return out, code
}

// dispatch runs the envelope through the real dispatcher, with progress on
// stderr when it is a terminal.
func (a *app) dispatch(ctx context.Context, envl *commands.Envelope) (*commands.Output, int) {
	deps := commands.Deps{Secrets: a.secrets, Clock: a.clock, LimitMemory: commands.SetProcessMemoryLimit}
	errw := a.io.Err
	var bar *progress.Bar
	if a.io.ErrTTY {
		bar = progress.NewBar(a.io.Err, shortName(envl.Command))
		deps.Progress = bar
		errw = bar // log lines clear the bar first
	}
	lg, err := a.secrets.Logger(errw, a.logLevel)
	if err != nil {
		lg = slog.New(slog.DiscardHandler)
	}
	deps.Logger = lg
	out, code := commands.Run(ctx, envl, &deps)
	if bar != nil {
		bar.Close()
	}
	return out, code
}

// ExitInterrupted is the exit status of a command stopped by Ctrl-C
// (128 + SIGINT, as shells report it).
const ExitInterrupted = 130

// engineWords are the engine's words in the commands' messages, and what
// to do instead on the command line.
var engineWords = strings.NewReplacer(
	"(see the Help tab)", `(see "ms-management-activity help params")`,
	"see the Help tab", `see "ms-management-activity help params"`,
	"click **Test**", "run ms-management-activity test-module",
	"press **Test**", "run ms-management-activity test-module",
)

// forCommandLine rewords a command's message for the command line.
func forCommandLine(msg string) string { return engineWords.Replace(msg) }

// errorHint adds a command-line hint to a command's error message, when the
// message alone does not say what to do on the command line. paramErr is
// the command's Output.ParameterError: a parameter's value is at fault,
// whatever the message says.
func errorHint(msg string, paramErr bool, paramsFile string, getenv func(string) string) string {
	switch {
	case paramErr:
		if paramsFile == "" {
			return `give the instance parameters with --params FILE (see "ms-management-activity help params")`
		}
		return fmt.Sprintf(`fix it in %s (see "ms-management-activity help params")`, paramsFile)
	case paramsFile == "" && getenv("MSMA_CLIENT_ID") == "":
		return `no --params file and no MSMA_* credentials were given; to try the integration without a tenant, run "ms-management-activity demo" or "ms-management-activity emulator"`
	case strings.Contains(msg, "AF") || strings.Contains(msg, "HTTP "):
		return "add --log-level debug to see each request"
	}
	return "add --log-level debug to see what was done"
}

package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/spec"
)

// help prints "help", "help COMMAND", "help params" or "help env", all
// generated from the embedded integration.yml.
func (a *app) help(args []string) int {
	if len(args) == 0 {
		io.WriteString(a.io.Out, overviewHelp(a.catalog))
		return 0
	}
	switch strings.ToLower(args[0]) {
	case "params", "parameters", "configuration":
		io.WriteString(a.io.Out, paramsHelp(a.catalog))
		return 0
	case "env", "environment":
		io.WriteString(a.io.Out, envHelp())
		return 0
	case "demo":
		io.WriteString(a.io.Out, demoHelp)
		return 0
	case "emulator":
		io.WriteString(a.io.Out, emulatorHelp)
		return 0
	case "help":
		io.WriteString(a.io.Out, overviewHelp(a.catalog))
		return 0
	}
	full, err := a.catalog.resolveCommand(args[0])
	if err != nil {
		return a.fail(err, commands.ExitBadEnvelope)
	}
	now := time.Now()
	if a.clock != nil {
		now = a.clock.Now()
	}
	io.WriteString(a.io.Out, commandHelp(a.catalog, full, now))
	return 0
}

func overviewHelp(c catalog) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ms-management-activity — %s\n\n", c.Name)
	b.WriteString(wrap(c.Description, 80, ""))
	b.WriteString(`
Usage:
  ms-management-activity COMMAND [name=value ...] [--params FILE] [--state [DIR]] [--json]
  ms-management-activity demo                 walk through every command on the built-in emulator
  ms-management-activity emulator [--addr 127.0.0.1:8443]
                                              serve the API emulator for your own tests
  ms-management-activity version              version, commit and Go version of this build (also --version)
  ms-management-activity < envelope.json      engine mode: one JSON envelope on stdin, one JSON result on stdout

Commands (long names work too, e.g. ms-management-activity-list-content):
`)
	for _, n := range c.commandNames() {
		fmt.Fprintf(&b, "  %-22s %s\n", shortName(n), firstSentence(c.description(n)))
	}
	b.WriteString(`
Flags:
  --params FILE    the instance parameters, JSON or YAML, keyed by integration.yml's names
                   ("help params"); secrets may come from the environment instead ("help env")
  --state [DIR]    keep lastRun.json and integrationContext.json (token cache) in DIR between runs;
                   --state alone: $XDG_STATE_HOME/ms-management-activity/<params file name>
  --json           print the full result (entries, context, incidents, lastRun) as JSON
  --max-rows N     show at most N rows per table (default: all)
  --log-level L    debug, info, warn or error, on stderr (default warn; MSMA_LOG_LEVEL)

Run "ms-management-activity help COMMAND" for a command's arguments and an example,
"help params" for the parameters, "help env" for the environment variables.
`)
	return b.String()
}

// commandHelp is help COMMAND; now dates the example's time range.
func commandHelp(c catalog, full string, now time.Time) string {
	var b strings.Builder
	short := shortName(full)
	if short != full {
		fmt.Fprintf(&b, "%s (or %s)\n\n", short, full)
	} else {
		fmt.Fprintf(&b, "%s\n\n", full)
	}
	b.WriteString(wrap(c.description(full), 80, "  "))
	var args []spec.Argument
	var outputs []spec.Output
	if cmd := c.Command(full); cmd != nil {
		args, outputs = cmd.Arguments, cmd.Outputs
	}
	b.WriteString("\nUsage:\n  ms-management-activity " + short)
	for _, a := range args {
		v := a.Name + "=VALUE"
		if a.Required {
			fmt.Fprintf(&b, " %s", v)
		} else {
			fmt.Fprintf(&b, " [%s]", v)
		}
	}
	b.WriteString(" [--params FILE] [--state [DIR]] [--json]\n")
	if len(args) > 0 {
		b.WriteString("\nArguments:\n")
		for _, a := range args {
			req := ""
			if a.Required {
				req = " (required)"
			}
			fmt.Fprintf(&b, "  %s%s\n", a.Name, req)
			b.WriteString(wrap(a.Description, 80, "      "))
			if len(a.Predefined) > 0 {
				b.WriteString(wrap("One of: "+strings.Join(a.Predefined, ", ")+".", 80, "      "))
			}
			if a.Default != "" {
				fmt.Fprintf(&b, "      Default: %s\n", a.Default)
			}
		}
	} else {
		b.WriteString("\nArguments: none.\n")
	}
	if len(outputs) > 0 {
		b.WriteString("\nContext outputs:\n")
		for _, o := range outputs {
			fmt.Fprintf(&b, "  %s (%s): %s\n", o.ContextPath, o.Type, o.Description)
		}
	}
	if ex := examples[full]; ex != "" {
		fmt.Fprintf(&b, "\nExample:\n  %s\n", exampleAt(ex, now))
		if strings.Contains(ex, threeDaysAgo) {
			b.WriteString("  (the last 3 days, dated when this help was printed: start_time and end_time take\n  UTC times, not relative ones such as \"3 days\", within the last 7 days)\n")
		}
	}
	return b.String()
}

// paramTypes names integration.yml's parameter types.
var paramTypes = map[int]string{0: "text", 4: "encrypted", 8: "boolean", 9: "credentials", 12: "long text", 13: "incident type", 14: "long encrypted", 15: "single select", 16: "multi select"}

func paramsHelp(c catalog) string {
	var b strings.Builder
	b.WriteString(`Instance parameters (--params FILE, JSON or YAML; the names of integration.yml).
Credentials parameters take the secret as a string, or {identifier: "", password: SECRET}.
Hidden legacy parameters are used only when their credentials_* twin is empty.

`)
	for _, p := range c.Configuration {
		flags := []string{paramTypes[p.Type]}
		if p.Hidden {
			flags = append(flags, "hidden, legacy")
		}
		if p.Advanced {
			flags = append(flags, "advanced")
		}
		if p.Default != "" {
			flags = append(flags, "default "+p.Default)
		}
		for _, e := range envParams {
			if e.Param == p.Name {
				flags = append(flags, "env "+e.Env)
			}
		}
		fmt.Fprintf(&b, "  %s (%s)\n", p.Name, strings.Join(flags, "; "))
		text := p.Label() + "."
		if p.Info != "" {
			text += " " + p.Info
		}
		if len(p.Options) > 0 {
			text += " Options: " + strings.Join(p.Options, ", ") + "."
		}
		b.WriteString(wrap(text, 80, "      "))
	}
	b.WriteString("\nExample (self-deployed app, client credentials; the secret from MSMA_CLIENT_SECRET):\n" + exampleParamsYAML)
	return b.String()
}

// exampleParamsYAML is the example params file of the help and the README.
const exampleParamsYAML = `  base_url: https://manage.office.com/api/v1.0/
  self_deployed: true
  credentials_auth_id: 00000000-0000-0000-0000-00000000c1d0   # Application (client) ID
  credentials_refresh_token: 00000000-0000-0000-0000-0000000000aa  # Tenant ID
  content_types_to_fetch: [Audit.General, Audit.Exchange]
  first_fetch_delta: 1 hour
`

func envHelp() string {
	var b strings.Builder
	b.WriteString("Environment variables (they override the --params file):\n\n")
	for _, e := range envParams {
		fmt.Fprintf(&b, "  %-34s %s\n", e.Env, e.Param)
		b.WriteString(wrap(e.Doc, 80, "      "))
	}
	fmt.Fprintf(&b, "  %-34s %s\n", "MSMA_PRIVATE_KEY_FILE", "private_key")
	b.WriteString(wrap("Path of a PEM file read into private_key when MSMA_PRIVATE_KEY is not set.", 80, "      "))
	fmt.Fprintf(&b, "  %-34s\n", "MSMA_LOG_LEVEL")
	b.WriteString(wrap("debug, info, warn or error (as --log-level).", 80, "      "))
	b.WriteString("\nSecrets given this way are never printed: output and logs show [REDACTED] instead.\n")
	return b.String()
}

const demoHelp = `demo

  Starts the built-in emulator of the Management Activity API on loopback with a
  realistic tenant, and runs the main commands against it as a user would:
  test-module, list-subscriptions, start-subscription, list-content with a filter,
  and two fetch-incidents runs that continue from each other. Needs no tenant and
  no network.

Usage:
  ms-management-activity demo [--json] [--max-rows N]
`

const emulatorHelp = `emulator

  Serves the built-in emulator of the Management Activity API (and of the Entra ID
  token endpoint) on loopback, with a demo tenant, until interrupted. It prints the
  base_url and a params file to point the command line (or an engine) at it.

Usage:
  ms-management-activity emulator [--addr 127.0.0.1:8443] [--write-params FILE]
`

// firstSentence is the first sentence of s.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// wrap word-wraps s at width, each line starting with indent.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(s), "\n") {
		line := indent
		for _, w := range strings.Fields(para) {
			if len(line) > len(indent) && len(line)+1+len(w) > width {
				b.WriteString(line + "\n")
				line = indent
			}
			if len(line) > len(indent) {
				line += " "
			}
			line += w
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

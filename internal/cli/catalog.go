package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/internal/suggest"
)

// cmdPrefix is the prefix of the integration's own command names; the
// command line accepts them without it (list-content).
const cmdPrefix = "ms-management-activity-"

// builtinCommands are the engine commands integration.yml does not declare.
var builtinCommands = []struct{ name, desc string }{
	{commands.CmdTestModule, "Tests the connection: gets a token and lists the subscriptions (the engine's Test button)."},
	{commands.CmdFetchIncidents, "Fetches new content records as incidents, from where the previous fetch stopped (keep that position with --state)."},
}

// Placeholders of the examples, filled in when help prints them
// (exampleAt): start_time and end_time take absolute UTC times only, and the
// API serves the last 7 days, so fixed dates would soon be refused.
const (
	threeDaysAgo = "{3 days ago}"
	thisHour     = "{this hour}"
)

// examples are the example command lines of help COMMAND (and of the README,
// whose test runs them).
var examples = map[string]string{
	commands.CmdTestModule:        "ms-management-activity test-module --params params.yml",
	commands.CmdFetchIncidents:    "ms-management-activity fetch-incidents --params params.yml --state",
	commands.CmdStartSubscription: "ms-management-activity start-subscription content_type=Audit.General --params params.yml",
	commands.CmdStopSubscription:  "ms-management-activity stop-subscription content_type=DLP.All --params params.yml",
	commands.CmdListSubscriptions: "ms-management-activity list-subscriptions --params params.yml",
	commands.CmdListContent:       "ms-management-activity list-content content_type=Audit.Exchange record_types_filter=ExchangeAdmin limit=20 --params params.yml",
	commands.CmdSearchRecords:     "ms-management-activity search-records user_ids=alice@contoso.com start_time=" + threeDaysAgo + " end_time=" + thisHour + " --params params.yml",
	commands.CmdGenerateLoginURL:  "ms-management-activity generate-login-url --params params.yml",
	commands.CmdAuthReset:         "ms-management-activity auth-reset --params params.yml --state",
}

// catalog is what the command line knows of the commands: integration.yml's
// and the built-in ones.
type catalog struct{ *spec.Integration }

// commandNames lists every command the dispatcher knows, full names.
func (c catalog) commandNames() []string {
	var out []string
	for _, b := range builtinCommands {
		out = append(out, b.name)
	}
	for _, cmd := range c.Script.Commands {
		out = append(out, cmd.Name)
	}
	return out
}

// shortName is the command's name without the integration prefix.
func shortName(full string) string { return strings.TrimPrefix(full, cmdPrefix) }

// resolveCommand maps what the user typed (short or full name, with or
// without the war room's "!") to a command's full name.
func (c catalog) resolveCommand(typed string) (string, error) {
	t := strings.TrimPrefix(strings.TrimSpace(typed), "!")
	for _, n := range c.commandNames() {
		if strings.EqualFold(t, n) || strings.EqualFold(t, shortName(n)) {
			return n, nil
		}
	}
	var cands []string
	for _, n := range c.commandNames() {
		cands = append(cands, shortName(n))
	}
	cands = append(cands, "demo", "emulator", "help")
	hint := `run "ms-management-activity help" to list the commands`
	if s := suggest.Closest(strings.TrimPrefix(strings.ToLower(t), cmdPrefix), cands); s != "" {
		hint = fmt.Sprintf("did you mean %q? (%s)", s, hint)
	}
	return "", &usageError{fmt.Sprintf("unknown command %q", typed), hint}
}

// description returns a command's description: integration.yml's, or the
// built-in one of test-module and fetch-incidents.
func (c catalog) description(full string) string {
	if cmd := c.Command(full); cmd != nil {
		return cmd.Description
	}
	for _, b := range builtinCommands {
		if b.name == full {
			return b.desc
		}
	}
	return ""
}

// exampleAt is example ex with its time placeholders filled in for now:
// the start of the current UTC hour, and that less 3 days.
func exampleAt(ex string, now time.Time) string {
	hour := now.UTC().Truncate(time.Hour)
	return strings.NewReplacer(
		threeDaysAgo, activity.FormatTime(hour.Add(-72*time.Hour)),
		thisHour, activity.FormatTime(hour),
	).Replace(ex)
}

package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/internal/suggest"
)

// usageError is a mistake on the command line (exit 2), with a hint.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// commandOptions are the options of an engine command: its parsed command
// line, and what the demo sets beyond it.
type commandOptions struct {
	command    string // as typed
	args       map[string]any
	argOrder   []string
	paramsFile string
	stateDir   string
	// stateDefault: --state was given without a value (defaultStateDir).
	stateDefault bool
	json         bool
	maxRows      int // truncates markdown tables (0: no limit)
	help         bool
	// quietNotes leaves out the notes for people on stderr (the demo).
	quietNotes bool
}

// parseCommandLine parses COMMAND [name=value ...] [--params FILE] [--state
// DIR] [--json] [--max-rows N].
func parseCommandLine(argv []string) (*commandOptions, error) {
	o := &commandOptions{args: map[string]any{}}
	var bare []string
	flagValue := func(i *int, name string) (string, error) {
		a := argv[*i]
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, nil
		}
		if *i+1 >= len(argv) {
			return "", &usageError{fmt.Sprintf("%s needs a value", name), fmt.Sprintf("e.g. %s %s", name, map[string]string{"--params": "params.yml", "--state": "./state", "--max-rows": "20"}[name])}
		}
		*i++
		return argv[*i], nil
	}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--params" || strings.HasPrefix(a, "--params="):
			v, err := flagValue(&i, "--params")
			if err != nil {
				return nil, err
			}
			o.paramsFile = v
		case a == "--state" && (i+1 == len(argv) || strings.HasPrefix(argv[i+1], "-") || strings.Contains(argv[i+1], "=")):
			// No value (last, or followed by a flag or an argument): the
			// default folder, outside the working tree.
			o.stateDefault = true
		case a == "--state" || strings.HasPrefix(a, "--state="):
			v, err := flagValue(&i, "--state")
			if err != nil {
				return nil, err
			}
			o.stateDir = v
		case a == "--max-rows" || strings.HasPrefix(a, "--max-rows="):
			v, err := flagValue(&i, "--max-rows")
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, &usageError{fmt.Sprintf("--max-rows %q is not a number of rows", v), "use 0 for no limit"}
			}
			o.maxRows = n
		case a == "--json":
			o.json = true
		case a == "-h" || a == "--help":
			o.help = true
		case strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			flags := []string{"--params", "--state", "--json", "--max-rows", "--help", "--log-level"}
			hint := "the flags are " + strings.Join(flags, ", ")
			if s := suggest.Closest(strings.TrimLeft(a, "-"), trimDashes(flags)); s != "" {
				hint = fmt.Sprintf("did you mean --%s?", s)
			}
			return nil, &usageError{fmt.Sprintf("unknown flag %s", a), hint}
		case strings.Contains(a, "=") && o.command != "":
			name, value, _ := strings.Cut(a, "=")
			name = strings.TrimSpace(name)
			if name == "" {
				return nil, &usageError{fmt.Sprintf("argument %q has no name", a), "arguments are name=value, e.g. content_type=Audit.General"}
			}
			if _, dup := o.args[name]; dup {
				return nil, &usageError{fmt.Sprintf("argument %s is given twice", name), "give it once; a list is comma-separated, e.g. record_types_filter=ExchangeAdmin,SharePoint"}
			}
			o.args[name] = value
			o.argOrder = append(o.argOrder, name)
		default:
			if o.command == "" {
				o.command = a
				continue
			}
			bare = append(bare, a)
		}
	}
	if len(bare) > 0 {
		return nil, &usageError{fmt.Sprintf("unexpected argument %q", bare[0]), "arguments are name=value, e.g. content_type=Audit.General"}
	}
	return o, nil
}

func trimDashes(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = strings.TrimLeft(f, "-")
	}
	return out
}

// checkArgs validates name=value arguments against integration.yml: unknown
// names are refused with a suggestion, predefined values are checked (and
// their case normalized), required ones must be present.
func (c catalog) checkArgs(command string, args map[string]any, order []string) error {
	cmd := c.Command(command)
	var declared []spec.Argument
	if cmd != nil {
		declared = cmd.Arguments
	}
	names := make([]string, 0, len(declared))
	for _, a := range declared {
		names = append(names, a.Name)
	}
	helpHint := fmt.Sprintf(`see "ms-management-activity help %s"`, shortName(command))
	for _, name := range order {
		i := slices.IndexFunc(declared, func(a spec.Argument) bool { return a.Name == name })
		if i < 0 {
			if len(names) == 0 {
				return &usageError{fmt.Sprintf("%s takes no arguments, but %s= was given", shortName(command), name), helpHint}
			}
			hint := "its arguments are " + strings.Join(names, ", ")
			if s := suggest.Closest(name, names); s != "" {
				hint = fmt.Sprintf("did you mean %s? (%s)", s, hint)
			}
			return &usageError{fmt.Sprintf("unknown argument %q for %s", name, shortName(command)), hint}
		}
		a := declared[i]
		if len(a.Predefined) > 0 {
			v, _ := args[name].(string)
			v = strings.TrimSpace(v)
			j := slices.IndexFunc(a.Predefined, func(p string) bool { return strings.EqualFold(p, v) })
			if j < 0 {
				hint := "one of " + strings.Join(a.Predefined, ", ")
				if s := suggest.Closest(v, a.Predefined); s != "" {
					hint = fmt.Sprintf("did you mean %s? (%s)", s, hint)
				}
				return &usageError{fmt.Sprintf("%s=%s is not a valid value", name, v), hint}
			}
			args[name] = a.Predefined[j]
		}
	}
	for _, a := range declared {
		if _, ok := args[a.Name]; a.Required && !ok {
			ex := a.Name + "=VALUE"
			if len(a.Predefined) > 0 {
				ex = a.Name + "=" + a.Predefined[0]
			}
			return &usageError{fmt.Sprintf("%s needs the argument %s", shortName(command), a.Name), fmt.Sprintf("e.g. %s (%s)", ex, helpHint)}
		}
	}
	return nil
}

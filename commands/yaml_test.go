package commands

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/params"
)

// builtinCommands are handled without being declared in integration.yml,
// as in every XSOAR integration.
var builtinCommands = map[string]bool{CmdTestModule: true, CmdFetchIncidents: true}

func loadSpec(t *testing.T) *spec.Integration {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "integration.yml"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := spec.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestYAMLCommandsMatchRegistry: a command in the YAML without a handler, or
// a handler without a YAML entry, fails.
func TestYAMLCommandsMatchRegistry(t *testing.T) {
	in := loadSpec(t)
	reg := Registry()
	for _, c := range in.Script.Commands {
		if _, ok := reg[c.Name]; !ok {
			t.Errorf("integration.yml declares %s but the registry has no handler for it", c.Name)
		}
	}
	for name := range reg {
		if !builtinCommands[name] && in.Command(name) == nil {
			t.Errorf("handler %s is registered but integration.yml does not declare it", name)
		}
	}
	if !in.Script.IsFetch {
		t.Error("integration.yml must set script.isfetch: true")
	}
	if in.Script.Type != "python" || in.Script.Subtype != "python3" {
		t.Errorf("script type/subtype = %s/%s, want python/python3 (the engine runs the bridge)", in.Script.Type, in.Script.Subtype)
	}
}

// TestYAMLParamsMatchDecoder: every parameter the decoder reads is declared,
// and every declared parameter is decoded.
func TestYAMLParamsMatchDecoder(t *testing.T) {
	in := loadSpec(t)
	declared := map[string]bool{}
	for _, p := range in.Configuration {
		declared[p.Name] = true
	}
	decoded := map[string]bool{}
	rt := reflect.TypeOf(params.Raw{})
	for i := 0; i < rt.NumField(); i++ {
		decoded[rt.Field(i).Tag.Get("mapstructure")] = true
	}
	for name := range decoded {
		if !declared[name] {
			t.Errorf("params.Raw decodes %q but integration.yml does not declare it", name)
		}
	}
	for name := range declared {
		if !decoded[name] {
			t.Errorf("integration.yml declares parameter %q but params.Raw never decodes it", name)
		}
	}
}

// TestYAMLDefaultsMatchDecoder: integration.yml's defaultvalue of a
// parameter is what the engine fills in; leaving the parameter out must
// decode to the same configuration, so the two sources cannot drift.
func TestYAMLDefaultsMatchDecoder(t *testing.T) {
	in := loadSpec(t)
	base := map[string]any{}
	want, err := params.Decode(base)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range in.Configuration {
		if p.Default == "" || p.Type == 8 { // type 8: a checkbox, decoded as a boolean
			continue
		}
		got, err := params.Decode(map[string]any{p.Name: p.Default})
		if err != nil {
			t.Errorf("%s: integration.yml's default %q does not decode: %v", p.Name, p.Default, err)
			continue
		}
		// The unexported part is the raw input, which differs by design.
		if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(params.Params{})); diff != "" {
			t.Errorf("%s: integration.yml's default %q decodes differently from leaving the parameter out (-omitted +default):\n%s", p.Name, p.Default, diff)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d defaults checked; did integration.yml lose its defaultvalue fields?", checked)
	}
}

// TestYAMLArgsAndOutputs runs every golden case and checks that the handler
// read only declared arguments, and that each declared output path of a
// command appears in at least one golden result of that command.
func TestYAMLArgsAndOutputs(t *testing.T) {
	in := loadSpec(t)
	produced := map[string]map[string]bool{} // command → context paths seen
	ran := map[string]bool{}
	for _, c := range goldenCases(t) {
		raw, _ := os.ReadFile(filepath.Join(c.dir, "envelope.json"))
		envl, err := DecodeEnvelope(raw)
		if err != nil {
			continue
		}
		var seen *Env
		var out []byte
		t.Run(c.name, func(t *testing.T) {
			out, _, _, seen = goldenRun(t, c)
		})
		if seen == nil {
			continue
		}
		cmd := in.Command(envl.Command)
		if cmd != nil {
			declared := map[string]bool{}
			for _, a := range cmd.Arguments {
				declared[a.Name] = true
			}
			for _, a := range seen.Args.Read() {
				if !declared[a] {
					t.Errorf("%s: handler %s read argument %q which integration.yml does not declare", c.name, envl.Command, a)
				}
			}
		}
		ran[envl.Command] = true
		type result struct {
			Results []struct {
				EntryContext map[string]any
			} `json:"results"`
		}
		var all []result
		if bytes.HasPrefix(bytes.TrimSpace(out), []byte("[")) {
			// A case of several runs: every run's output.
			var runs []struct {
				Output result `json:"output"`
			}
			if err := json.Unmarshal(out, &runs); err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				all = append(all, r.Output)
			}
		} else {
			var res result
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			all = append(all, res)
		}
		if produced[envl.Command] == nil {
			produced[envl.Command] = map[string]bool{}
		}
		for _, res := range all {
			for _, e := range res.Results {
				for key, v := range e.EntryContext {
					collectPaths(contextPrefix(key), v, produced[envl.Command])
				}
			}
		}
	}
	for _, cmd := range in.Script.Commands {
		if !ran[cmd.Name] {
			continue // no golden case reaches this handler yet
		}
		var missing []string
		for _, o := range cmd.Outputs {
			if !produced[cmd.Name][o.ContextPath] {
				missing = append(missing, o.ContextPath)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 && hasSuccessCase(t, cmd.Name) {
			t.Errorf("%s declares outputs no golden result produces: %s", cmd.Name, strings.Join(missing, ", "))
		}
	}
}

// hasSuccessCase reports whether some golden case of the command exits 0.
func hasSuccessCase(t *testing.T, command string) bool {
	for _, c := range goldenCases(t) {
		raw, _ := os.ReadFile(filepath.Join(c.dir, "envelope.json"))
		envl, err := DecodeEnvelope(raw)
		if err != nil || envl.Command != command {
			continue
		}
		if _, err := os.Stat(filepath.Join(c.dir, "exit.txt")); os.IsNotExist(err) {
			return true
		}
	}
	return false
}

// contextPrefix strips XSOAR's dedupe suffix: "P(val.K && ...)" → "P".
func contextPrefix(key string) string {
	if i := strings.Index(key, "("); i >= 0 {
		return key[:i]
	}
	return key
}

// collectPaths records path and, for objects (or lists of objects), every
// path.field below it.
func collectPaths(path string, v any, into map[string]bool) {
	into[path] = true
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			collectPaths(path+"."+k, sub, into)
		}
	case []any:
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				for k, sub := range m {
					collectPaths(path+"."+k, sub, into)
				}
			}
		}
	}
}

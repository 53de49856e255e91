package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/secops-go/ms-management-activity/auth"
	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/httpclient"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/state"
	"github.com/secops-go/ms-management-activity/params"
)

// MaxEnvelopeBytes is the largest envelope accepted (PROTOCOL.md).
const MaxEnvelopeBytes = 64 << 20

// Exit codes (PROTOCOL.md).
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitBadEnvelope = 2
)

// Envelope is the JSON object the engine writes on stdin.
type Envelope struct {
	Command            string          `json:"command"`
	Params             map[string]any  `json:"params"`
	Args               map[string]any  `json:"args"`
	LastRun            json.RawMessage `json:"lastRun"`
	IntegrationContext map[string]any  `json:"integrationContext"`
}

// Output is the JSON object written on stdout.
type Output struct {
	Results   []xcontext.Entry `json:"results"`
	Incidents *[]Incident      `json:"incidents,omitempty"`
	LastRun   any              `json:"lastRun,omitempty"`
	// omitzero, not omitempty: a nil map (unchanged) is left out, but the
	// empty map of auth-reset must be written as {} so the engine clears
	// what it stored (PROTOCOL.md).
	IntegrationContext map[string]any `json:"integrationContext,omitzero"`
}

// Deps are the dependencies injected into every command. Zero fields get
// production defaults.
type Deps struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// HTTPClient builds the outbound HTTP client from the params; nil uses
	// httpclient.New with the params' timeout, insecure and proxy.
	HTTPClient func(p *params.Params) *http.Client
	// TokenSource builds the token source of the configured flow.
	TokenSource func(ctx context.Context, env *Env) (auth.TokenSource, error)
	// Progress is where progress for people goes (nil: none).
	Progress io.Writer
	// Secrets collects the run's secret values (params, then tokens as they
	// are obtained) so that logs and error messages never show them. The
	// logger should be built on Secrets.Handler; nil makes a fresh set.
	Secrets *redact.Set
	// Handlers overrides the registry (tests); nil uses Registry().
	Handlers map[string]Handler

	// observe, when set, sees the Env after the handler ran (tests check
	// which arguments a handler read).
	observe func(*Env)
}

func (d *Deps) withDefaults() *Deps {
	out := *d
	if out.Clock == nil {
		out.Clock = clock.Real{}
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.HTTPClient == nil {
		out.HTTPClient = func(p *params.Params) *http.Client {
			return httpclient.New(httpclient.Options{Timeout: p.Timeout, Insecure: p.Insecure, Proxy: p.Proxy})
		}
	}
	if out.TokenSource == nil {
		out.TokenSource = defaultTokenSource
	}
	if out.Secrets == nil {
		out.Secrets = &redact.Set{}
	}
	if out.Handlers == nil {
		out.Handlers = Registry()
	}
	return &out
}

// EnvelopeError is an unusable envelope (exit 2).
type EnvelopeError struct{ Msg string }

func (e *EnvelopeError) Error() string { return e.Msg }

// ReadEnvelope reads and decodes one envelope, refusing more than
// MaxEnvelopeBytes, non-JSON, non-objects and a missing command.
func ReadEnvelope(r io.Reader) (*Envelope, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxEnvelopeBytes+1))
	if err != nil {
		return nil, &EnvelopeError{fmt.Sprintf("Could not read the envelope from standard input: %v", err)}
	}
	if len(data) > MaxEnvelopeBytes {
		return nil, &EnvelopeError{fmt.Sprintf("The envelope is larger than %d MiB; refusing to read it.", MaxEnvelopeBytes>>20)}
	}
	return DecodeEnvelope(data)
}

// DecodeEnvelope decodes an envelope already in memory.
func DecodeEnvelope(data []byte) (*Envelope, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &EnvelopeError{"The envelope is empty: expected one JSON object on standard input, e.g. {\"command\": \"test-module\", \"params\": {...}}."}
	}
	if !json.Valid(trimmed) {
		return nil, &EnvelopeError{"The envelope is not valid JSON: expected one JSON object on standard input, e.g. {\"command\": \"test-module\", \"params\": {...}}."}
	}
	if trimmed[0] != '{' {
		return nil, &EnvelopeError{"The envelope must be a JSON object with a \"command\" field, e.g. {\"command\": \"test-module\", \"params\": {...}}."}
	}
	var env Envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, &EnvelopeError{fmt.Sprintf("The envelope has a field of the wrong type: %s.", describeJSONError(err))}
	}
	if env.Command == "" {
		return nil, &EnvelopeError{"The envelope has no \"command\" field: say which command to run, e.g. \"test-module\"."}
	}
	if len(env.LastRun) > 0 && !bytes.Equal(bytes.TrimSpace(env.LastRun), []byte("null")) && bytes.TrimSpace(env.LastRun)[0] != '{' {
		return nil, &EnvelopeError{"The envelope's \"lastRun\" must be a JSON object."}
	}
	return &env, nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%q must be a JSON %s, not %s", te.Field, expectedKind(te.Field), te.Value)
	}
	return "it does not match the expected shape"
}

func expectedKind(field string) string {
	if field == "command" {
		return "string"
	}
	return "object"
}

// ErrorOutput is the result holding one error entry.
func ErrorOutput(msg string) *Output {
	return &Output{Results: []xcontext.Entry{xcontext.Error(msg)}}
}

// Run dispatches a decoded envelope and returns the output and exit code. It
// never panics: a panic in a handler becomes an error entry (exit 1).
func Run(ctx context.Context, envl *Envelope, deps *Deps) (out *Output, code int) {
	d := deps.withDefaults()
	h, ok := d.Handlers[envl.Command]
	if !ok {
		return ErrorOutput(fmt.Sprintf("Unknown command %q. Run \"ms-management-activity help\" to list the commands.", envl.Command)), ExitBadEnvelope
	}
	fail := func(err error) (*Output, int) {
		// Redact as a last line of defence: no code path should put a
		// secret in an error, but a library error might echo one.
		msg := fmt.Sprintf("Failed to execute %s command. Error: %s", envl.Command, err)
		if h := hint(err); h != "" {
			msg += "\n" + h
		}
		return ErrorOutput(d.Secrets.String(msg)), ExitFailed
	}
	defer func() {
		if r := recover(); r != nil {
			d.Logger.Error("command panicked", "command", envl.Command, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			out, code = fail(fmt.Errorf("internal error (%v); this is a bug, please report it with the log from standard error", r))
		}
	}()
	d.Secrets.Add(secretStrings(envl.Params)...)
	p, err := params.Decode(envl.Params)
	if err != nil {
		return fail(err)
	}
	d.Secrets.Add(p.Secrets()...)
	env := &Env{
		Command:  envl.Command,
		Params:   p,
		Args:     NewArgs(envl.Args),
		LastRun:  envl.LastRun,
		Context:  state.New(envl.IntegrationContext),
		Clock:    d.Clock,
		Logger:   d.Logger.With("command", envl.Command),
		HTTP:     d.HTTPClient(p),
		Progress: d.Progress,
		Secrets:  d.Secrets,
		deps:     d,
	}
	if d.observe != nil {
		defer d.observe(env)
	}
	res, err := h(ctx, env)
	if err != nil {
		return fail(err)
	}
	if res == nil {
		res = &Result{}
	}
	out = &Output{Results: res.Entries}
	if out.Results == nil {
		out.Results = []xcontext.Entry{}
	}
	if envl.Command == "fetch-incidents" {
		inc := res.Incidents
		if inc == nil {
			inc = []Incident{}
		}
		out.Incidents = &inc
		out.LastRun = res.LastRun
		if out.LastRun == nil {
			out.LastRun = map[string]any{}
		}
	}
	if env.Context.Changed() {
		out.IntegrationContext = env.Context.Map()
	}
	return out, ExitOK
}

// secretParams are the parameters whose values are secrets whatever their
// decoded form (credentials objects' password, legacy encrypted fields).
var secretParams = []string{"credentials_enc_key", "enc_key", "credentials_refresh_token", "refresh_token",
	"credentials_certificate_thumbprint", "certificate_thumbprint", "private_key", "credentials_auth_code", "auth_code"}

// secretStrings extracts secret values from the raw params before decoding,
// so that even a params error cannot echo one.
func secretStrings(raw map[string]any) []string {
	var out []string
	// In self-deployed mode "Token or Tenant ID" holds the tenant ID, which
	// is not a secret and must stay readable (e.g. in the login URL).
	selfDeployed := truthy(raw["self_deployed"]) || truthy(raw["use_managed_identities"])
	for _, name := range secretParams {
		if selfDeployed && (name == "credentials_refresh_token" || name == "refresh_token") {
			continue
		}
		switch v := raw[name].(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			if pw, ok := v["password"].(string); ok {
				out = append(out, pw)
			}
		}
	}
	return out
}

// truthy reads an engine boolean: true, "true", "True", "yes", 1.
func truthy(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true", "yes", "1", "on":
			return true
		}
	case float64:
		return t != 0
	}
	return false
}

// hint adds the fix for failures whose cause is below the command, in the
// connection: an unverifiable TLS certificate names the insecure parameter.
func hint(err error) string {
	if activity.IsCertificateError(err) {
		return "The server's TLS certificate could not be verified (see the x509 reason above). If the certificate is expected " +
			"(a TLS-inspecting proxy or a private CA), install its CA on this machine, or set the insecure parameter " +
			"(\"Trust any certificate (not secure)\")."
	}
	return ""
}

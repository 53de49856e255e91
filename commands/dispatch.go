// Package commands maps each command name to its handler and runs one
// envelope through it. A handler gets everything it needs through one *Env
// value and returns a *Result or an error.
//
// Reading order: envelope.go (what comes in and goes out, the exit codes),
// dispatch.go (Run: the handler table, params, the Env, the API client),
// args.go (every command argument, read and checked), then one file per
// command: listcontent.go, searchrecords.go, fetch.go, subscriptions.go,
// testmodule.go, login.go, authreset.go. output.go streams the result.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/auth"
	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/httpclient"
	"github.com/secops-go/ms-management-activity/internal/progress"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/internal/state"
	"github.com/secops-go/ms-management-activity/params"
)

// Command names (their one source is internal/spec, which auth's messages
// use too).
const (
	CmdTestModule        = spec.CmdTestModule
	CmdFetchIncidents    = spec.CmdFetchIncidents
	CmdStartSubscription = spec.CmdStartSubscription
	CmdStopSubscription  = spec.CmdStopSubscription
	CmdListSubscriptions = spec.CmdListSubscriptions
	CmdListContent       = spec.CmdListContent
	CmdGenerateLoginURL  = spec.CmdGenerateLoginURL
	CmdAuthReset         = spec.CmdAuthReset
	CmdSearchRecords     = spec.CmdSearchRecords
)

// Registry maps every command name to its handler. It returns a new map each
// time, so callers may modify it (tests swap handlers).
func Registry() map[string]Handler {
	return map[string]Handler{
		CmdTestModule:        testModule,
		CmdFetchIncidents:    fetchIncidents,
		CmdStartSubscription: startSubscription,
		CmdStopSubscription:  stopSubscription,
		CmdListSubscriptions: listSubscriptions,
		CmdListContent:       listContent,
		CmdGenerateLoginURL:  generateLoginURL,
		CmdAuthReset:         authReset,
		CmdSearchRecords:     searchRecords,
	}
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
	TokenSource func(ctx context.Context, env *Env) (activity.TokenSource, error)
	// Progress is where progress for people goes (nil: none).
	Progress io.Writer
	// Secrets collects the run's secret values (params, then tokens as they
	// are obtained) so that logs and error messages never show them. The
	// logger should be built on Secrets.Handler; nil makes a fresh set.
	Secrets *redact.Set
	// LimitMemory, if set, is given the process's soft memory limit for
	// the run's max_blob_mb: 2 × max_blob_mb + 64 MiB in all, less what the
	// runtime does not manage (production: debug.SetMemoryLimit, unless
	// GOMEMLIMIT is set). Downloads stay within the in-flight budget of
	// activity; the limit keeps the garbage collector's slack inside the
	// same bound.
	LimitMemory func(bytes int64)
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
		out := ErrorOutput(d.Secrets.String(msg))
		var ae *ArgumentError
		out.ArgumentError = errors.As(err, &ae)
		var pe *params.Error
		out.ParameterError = errors.As(err, &pe)
		return out, ExitFailed
	}
	logger := d.Logger.With("command", envl.Command)
	var httpStats httpclient.Stats
	started := time.Now()
	// Deferred before the recovery below, so it runs after it and sees a
	// panic's exit code.
	defer func() { logSummary(logger, code, time.Since(started), httpStats.Snapshot(), out) }()
	// Registered before the recover below, so it runs after it: a panic's
	// error entry is redacted too.
	defer func() {
		if out != nil {
			redactOutput(out, d.Secrets)
		}
	}()
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
	if d.LimitMemory != nil {
		d.LimitMemory(MemoryLimit(p.MaxBlobBytes))
	}
	if b := envl.WorkBudget(); b > 0 {
		// On the injected clock, so tests run a 20 s budget in no time.
		var cancel context.CancelFunc
		ctx, cancel = clock.WithTimeout(ctx, d.Clock, b)
		defer cancel()
	}
	env := &Env{
		Command:  envl.Command,
		Params:   p,
		Args:     NewArgs(envl.Args),
		LastRun:  envl.LastRun,
		Context:  state.New(envl.IntegrationContext),
		Clock:    d.Clock,
		Logger:   logger,
		HTTP:     httpclient.WithLogging(d.HTTPClient(p), logger, &httpStats),
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

// logSummary writes the command's one info line: how it ended, how long
// it took (wall time, to read, not to decide on) and what it sent.
func logSummary(logger *slog.Logger, code int, took time.Duration, hs httpclient.StatsSnapshot, out *Output) {
	attrs := []slog.Attr{
		slog.Int("exit", code), slog.Duration("duration", took.Round(time.Millisecond)),
		slog.Int64("http_requests", hs.Requests), slog.Int64("http_error_status", hs.ErrorStatus), slog.Int64("http_no_answer", hs.NoAnswer), slog.Int64("bytes_received", hs.Bytes),
	}
	if out != nil {
		attrs = append(attrs, slog.Int("entries", len(out.Results)))
		if out.Incidents != nil {
			attrs = append(attrs, slog.Int("incidents", len(*out.Incidents)))
		}
	}
	logger.LogAttrs(context.Background(), slog.LevelInfo, "command finished", attrs...)
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

// Env is what a handler works with: the decoded envelope and the injected
// dependencies.
type Env struct {
	Command string
	// Params is the validated instance configuration (never nil in a handler;
	// a params error fails the command before the handler runs).
	Params *params.Params
	// Args are the command's arguments.
	Args *Args
	// LastRun is the previous fetch-incidents lastRun, raw (fetch only).
	LastRun json.RawMessage
	// Context is the instance's integrationContext for this run.
	Context *state.Store

	Clock  clock.Clock
	Logger *slog.Logger
	// HTTP is the client for every outbound call, built from params.
	HTTP *http.Client
	// Progress receives progress output for people; nil when stderr is not a
	// terminal (the engine), so handlers must check.
	Progress io.Writer
	// Secrets is the run's redaction set: add every token obtained, so logs
	// and errors never show it.
	Secrets *redact.Set

	deps *Deps
}

// Tokens returns the token source of the configured auth flow.
func (e *Env) Tokens(ctx context.Context) (activity.TokenSource, error) {
	if e.deps.TokenSource == nil {
		return nil, fmt.Errorf("no authentication flow is available")
	}
	ts, err := e.deps.TokenSource(ctx, e)
	if err != nil {
		return nil, err
	}
	return &redactingSource{ts, e.Secrets}, nil
}

// redactingSource registers every token it hands out with the run's secret
// set, so no log line or error message can show it.
type redactingSource struct {
	activity.TokenSource
	secrets interface{ Add(...string) }
}

func (r *redactingSource) Token(ctx context.Context) (string, error) {
	tok, err := r.TokenSource.Token(ctx)
	if tok != "" {
		r.secrets.Add(tok)
	}
	return tok, err
}

// Result is what a handler returns.
type Result struct {
	Entries []xcontext.Entry
	// Incidents and LastRun are set by fetch-incidents only.
	Incidents []Incident
	LastRun   any
}

// Handler runs one command.
type Handler func(ctx context.Context, env *Env) (*Result, error)

// newActivityClient builds the API client from the run's params and
// dependencies. timeout > 0 overrides the timeout parameter for every
// request of this run (the list-content timeout argument).
func newActivityClient(ctx context.Context, env *Env, timeout time.Duration) (*activity.Client, error) {
	ts, err := env.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("authentication is not configured correctly: %w", err)
	}
	p := env.Params
	hc := env.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	if timeout > 0 && timeout != hc.Timeout {
		c := *hc
		c.Timeout = timeout
		hc = &c
	}
	tenant := ""
	if p.SelfDeployed {
		// In self-deployed mode "Token or Tenant ID" is the tenant ID; it is
		// used only when the token carries no tid claim.
		tenant = p.TokenOrTenant
	}
	return activity.New(activity.Config{
		BaseURL:             p.BaseURL.String(),
		Tenant:              tenant,
		PublisherIdentifier: p.PublisherIdentifier,
		HTTP:                hc,
		Tokens:              ts,
		Clock:               env.Clock,
		Logger:              env.Logger,
		Concurrency:         p.DownloadConcurrency,
		MaxBlobBytes:        p.MaxBlobBytes,
		RequestsPerMinute:   p.RequestsPerMinute,
		Progress:            progress.From(env.Progress),
		Redact:              env.Secrets.String,
	})
}

// defaultTokenSource is the production token source factory: the flow the
// params select, with its cache in the run's integrationContext and every
// request through the run's HTTP client.
func defaultTokenSource(ctx context.Context, env *Env) (activity.TokenSource, error) {
	cfg := auth.Config{
		Params: env.Params,
		Store:  env.Context,
		HTTP:   env.HTTP,
		Clock:  env.Clock,
		Logger: env.Logger,
	}
	if env.Secrets != nil {
		cfg.Secrets = env.Secrets
	}
	return auth.New(ctx, cfg)
}

// MemoryLimit is the soft memory limit of a run whose per-blob cap is
// maxBlob: the bar of 2 × max_blob_mb + 64 MiB of resident memory, less
// 24 MiB for the executable's code and data, which the runtime does not
// count.
func MemoryLimit(maxBlob int64) int64 { return 2*maxBlob + 40<<20 }

// SetProcessMemoryLimit is the production LimitMemory: the runtime's soft
// limit, unless GOMEMLIMIT (which the runtime reads itself) set one.
func SetProcessMemoryLimit(n int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(n)
	}
}

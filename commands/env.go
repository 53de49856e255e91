// Package commands maps each command name to its handler and runs one
// envelope through it. A handler gets everything it needs through one *Env
// value and returns a *Result or an error.
package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/secops-go/ms-management-activity/auth"
	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/state"
	"github.com/secops-go/ms-management-activity/params"
)

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
func (e *Env) Tokens(ctx context.Context) (auth.TokenSource, error) {
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
	auth.TokenSource
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

// Incident is one incident created by fetch-incidents.
type Incident struct {
	Name         string `json:"name"`
	Occurred     string `json:"occurred"`
	RawJSON      string `json:"rawJSON"`
	Type         string `json:"type,omitempty"`
	DbotMirrorID string `json:"dbotMirrorId,omitempty"`
}

// Handler runs one command.
type Handler func(ctx context.Context, env *Env) (*Result, error)

// Args holds a command's arguments and remembers which ones the handler read,
// so a test can check that every argument read is declared in integration.yml.
type Args struct {
	m    map[string]any
	mu   sync.Mutex
	read map[string]bool
}

// NewArgs wraps the envelope's args object.
func NewArgs(m map[string]any) *Args {
	if m == nil {
		m = map[string]any{}
	}
	return &Args{m: m, read: map[string]bool{}}
}

// String returns the argument as a trimmed string ("" when absent). Engines
// may send numbers, booleans or lists; lists are joined with commas.
func (a *Args) String(name string) string {
	a.mu.Lock()
	a.read[name] = true
	v := a.m[name]
	a.mu.Unlock()
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(t)
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			parts = append(parts, strings.TrimSpace(fmt.Sprint(e)))
		}
		return strings.Join(parts, ",")
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprint(int64(t))
		}
		return fmt.Sprint(t)
	default:
		return strings.TrimSpace(fmt.Sprint(t))
	}
}

// Read lists the arguments the handler asked for, sorted.
func (a *Args) Read() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.read))
	for k := range a.read {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

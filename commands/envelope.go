package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
)

// MaxEnvelopeBytes is the largest envelope accepted (docs/protocol.md).
const MaxEnvelopeBytes = 64 << 20

// Exit codes (docs/protocol.md).
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
	// BudgetSeconds is how long the engine lets the command run before it
	// kills it (docs/protocol.md, "Deadlines"); 0 or absent: no budget. The
	// command stops its work early enough to return what it has before then.
	BudgetSeconds float64 `json:"budgetSeconds"`
}

// MaxBudgetSeconds is the largest budgetSeconds accepted (a day).
const MaxBudgetSeconds = 86400

// Work stops a reserve before the budget, so the result is encoded and
// written while the engine still waits: a tenth of the budget, at most
// maxBudgetReserve (150 s → work until 140 s; 2 s → 1.8 s).
const maxBudgetReserve = 10 * time.Second

// WorkBudget is the time the command may spend working under the
// envelope's budget (0: no budget).
func (e *Envelope) WorkBudget() time.Duration {
	if e.BudgetSeconds <= 0 {
		return 0
	}
	budget := time.Duration(e.BudgetSeconds * float64(time.Second))
	return budget - min(budget/10, maxBudgetReserve)
}

// Output is the JSON object written on stdout.
type Output struct {
	Results   []xcontext.Entry `json:"results"`
	Incidents *[]Incident      `json:"incidents,omitempty"`
	LastRun   any              `json:"lastRun,omitempty"`
	// omitzero, not omitempty: a nil map (unchanged) is left out, but the
	// empty map of auth-reset must be written as {} so the engine clears
	// what it stored (docs/protocol.md).
	IntegrationContext map[string]any `json:"integrationContext,omitzero"`
	// ArgumentError marks a failure caused by the command's arguments
	// (ArgumentError), for the command line's exit status; not written.
	ArgumentError bool `json:"-"`
	// ParameterError marks a failure caused by a parameter's value
	// (params.Error), for the command line's hint to fix the params file;
	// not written.
	ParameterError bool `json:"-"`
}

// Incident is one incident created by fetch-incidents.
type Incident struct {
	Name         string `json:"name"`
	Occurred     string `json:"occurred"`
	RawJSON      string `json:"rawJSON"`
	Type         string `json:"type,omitempty"`
	DbotMirrorID string `json:"dbotMirrorId,omitempty"`
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
	if env.BudgetSeconds < 0 || env.BudgetSeconds > MaxBudgetSeconds {
		return nil, &EnvelopeError{fmt.Sprintf("The envelope's \"budgetSeconds\" is %v: it must be between 0 (no budget) and %d seconds.", env.BudgetSeconds, MaxBudgetSeconds)}
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
	switch field {
	case "command":
		return "string"
	case "budgetSeconds":
		return "number"
	}
	return "object"
}

// ErrorOutput is the result holding one error entry.
func ErrorOutput(msg string) *Output {
	return &Output{Results: []xcontext.Entry{xcontext.Error(msg)}}
}

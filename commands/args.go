package commands

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/params"
)

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

// MaxListLimit is the hard cap on records list-content returns in one call.
const MaxListLimit = 100000

// listContentRequest is list-content's arguments, checked.
type listContentRequest struct {
	contentType string
	start, end  time.Time
	filter      *activity.Filter
	limit       int
	timeout     time.Duration // 0: the timeout parameter
}

// listContentArgs reads and checks every list-content argument, in the
// order the messages report them.
func listContentArgs(env *Env) (req listContentRequest, err error) {
	if req.contentType, err = contentTypeArg(env); err != nil {
		return req, err
	}
	if req.start, req.end, err = timeRangeArgs(env, env.Clock.Now()); err != nil {
		return req, err
	}
	if req.filter, err = activity.ParseFilter(env.Args.String("record_types_filter"), env.Args.String("workloads_filter"), env.Args.String("operations_filter")); err != nil {
		return req, err
	}
	if req.limit, err = params.PositiveInt("limit", env.Args.String("limit"), MaxListLimit, MaxListLimit, "1000"); err != nil {
		return req, argError(err)
	}
	if req.timeout, err = timeoutArg(env); err != nil {
		return req, err
	}
	return req, nil
}

// contentTypeArg reads and canonicalises the content_type argument.
func contentTypeArg(env *Env) (string, error) {
	raw := env.Args.String("content_type")
	if raw == "" {
		return "", fmt.Errorf("content_type is required: use one of %s.", strings.Join(activity.ContentTypes, ", "))
	}
	ct, ok := activity.CanonicalContentType(raw)
	if !ok {
		return "", fmt.Errorf("content_type %q is not a content type of the API: use one of %s (case does not matter).", raw, strings.Join(activity.ContentTypes, ", "))
	}
	return ct, nil
}

// timeoutArg reads the timeout argument in seconds (0 when absent).
func timeoutArg(env *Env) (time.Duration, error) {
	n, err := params.PositiveInt("timeout", env.Args.String("timeout"), 0, 3600, "60")
	if err != nil {
		return 0, argError(err)
	}
	return time.Duration(n) * time.Second, nil
}

// argError rewords a params.Error for an argument.
func argError(err error) error {
	if pe, ok := err.(*params.Error); ok {
		return fmt.Errorf("argument %s: %s.", pe.Param, strings.TrimSuffix(pe.Message, "."))
	}
	return err
}

// timeLayouts are the accepted start_time/end_time formats, all UTC unless
// they carry a zone.
var timeLayouts = []string{"2006-01-02T15:04:05", time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// parseTimeArg parses a start_time/end_time value.
func parseTimeArg(name, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not a time: use YYYY-MM-DDTHH:MM:SS in UTC, e.g. 2025-01-15T02:00:00 (RFC 3339 and YYYY-MM-DDTHH:MM are accepted too).", name, s)
}

// timeRangeArgs reads start_time and end_time: both or neither (then the
// last 24 hours), start before end, start no more than 7 days ago. A range
// longer than 24 hours is allowed: the client splits it.
func timeRangeArgs(env *Env, now time.Time) (start, end time.Time, err error) {
	rs, re := env.Args.String("start_time"), env.Args.String("end_time")
	now = now.UTC().Truncate(time.Second)
	switch {
	case rs == "" && re == "":
		return now.Add(-24 * time.Hour), now, nil
	case rs == "":
		return start, end, fmt.Errorf("end_time is given without start_time: give both, or neither for the last 24 hours.")
	case re == "":
		return start, end, fmt.Errorf("start_time is given without end_time: give both, or neither for the last 24 hours.")
	}
	if start, err = parseTimeArg("start_time", rs); err != nil {
		return
	}
	if end, err = parseTimeArg("end_time", re); err != nil {
		return
	}
	f := activity.FormatTime
	switch {
	case end.Before(start):
		return start, end, fmt.Errorf("end_time %s is before start_time %s.", f(end), f(start))
	case end.Equal(start):
		return start, end, fmt.Errorf("end_time %s is the same as start_time: give a later end_time.", f(end))
	}
	if earliest := now.Add(-7 * 24 * time.Hour); start.Before(earliest) {
		return start, end, fmt.Errorf("start_time %s is more than 7 days ago: the API serves content of the last 7 days only, so start at %s or later.", f(start), f(earliest))
	}
	if !start.Before(now) {
		return start, end, fmt.Errorf("start_time %s is not in the past (now is %s UTC): there is no content yet.", f(start), f(now))
	}
	// No content can exist after now; listing the future would cost one
	// request per empty 24-hour window.
	if end.After(now) {
		end = now
	}
	return start, end, nil
}

package commands

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/fetch"
	"github.com/secops-go/ms-management-activity/internal/search"
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

// List returns a comma-separated argument as its items, trimmed, empty
// items dropped (an engine's list value arrives joined by String).
func (a *Args) List(name string) []string {
	var out []string
	for _, item := range strings.Split(a.String(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
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
		return req, argError(err)
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
		return "", argErrorf("content_type is required: use one of %s.", strings.Join(activity.ContentTypes, ", "))
	}
	ct, ok := activity.CanonicalContentType(raw)
	if !ok {
		return "", argErrorf("content_type %q is not a content type of the API: use one of %s (case does not matter).", raw, strings.Join(activity.ContentTypes, ", "))
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

// ArgumentError is a command argument that cannot be used (argErrorf makes
// them). The protocol exits 1 for it, like any failed command; the command
// line exits 2, as for its own argument checks (Output.ArgumentError).
// Most are refused before any request; search-records' range only after the
// first answer told the API's time, with nothing downloaded.
type ArgumentError struct{ Err error }

func (e *ArgumentError) Error() string { return e.Err.Error() }
func (e *ArgumentError) Unwrap() error { return e.Err }

// argErrorf is an argument's refusal. Every check of an argument's value
// returns one, before the first request or after it (search-records places
// its range against the API's clock), so no handler has to remember to mark
// its argument errors for the command line's exit 2.
func argErrorf(format string, a ...any) error {
	return &ArgumentError{fmt.Errorf(format, a...)}
}

// argError is argErrorf for the error of a parser shared with the
// parameters (params.PositiveInt, activity.ParseFilter): a params.Error is
// reworded to name the argument, so it is not taken for a parameter's.
func argError(err error) error {
	if pe, ok := err.(*params.Error); ok {
		return argErrorf("argument %s: %s.", pe.Param, strings.TrimSuffix(pe.Message, "."))
	}
	return &ArgumentError{err}
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
	return time.Time{}, argErrorf("%s %q is not a time: use YYYY-MM-DDTHH:MM:SS in UTC, e.g. 2025-01-15T02:00:00 (RFC 3339 and YYYY-MM-DDTHH:MM are accepted too).", name, s)
}

// timeRangeArgs reads start_time and end_time: both or neither (then the
// last 24 hours), start before end, start no more than 7 days ago. A range
// longer than 24 hours is allowed: the client splits it.
func timeRangeArgs(env *Env, now time.Time) (start, end time.Time, err error) {
	now = now.UTC().Truncate(time.Second)
	start, end, given, err := parseTimeRange(env)
	if err != nil {
		return start, end, err
	}
	if !given {
		return now.Add(-24 * time.Hour), now, nil
	}
	f := activity.FormatTime
	if earliest := now.Add(-activity.Retention); start.Before(earliest) {
		return start, end, argErrorf("start_time %s is more than 7 days ago: the API serves content of the last 7 days only, so start at %s or later.", f(start), f(earliest))
	}
	if err := startInPast(start, now); err != nil {
		return start, end, err
	}
	// No content can exist after now; listing the future would cost one
	// request per empty 24-hour window.
	if end.After(now) {
		end = now
	}
	return start, end, nil
}

// parseTimeRange reads start_time and end_time as given: both or neither
// (given false), each a time, start before end. The checks against now are
// the caller's.
func parseTimeRange(env *Env) (start, end time.Time, given bool, err error) {
	rs, re := env.Args.String("start_time"), env.Args.String("end_time")
	switch {
	case rs == "" && re == "":
		return start, end, false, nil
	case rs == "":
		return start, end, false, argErrorf("end_time is given without start_time: give both, or neither for the last 24 hours.")
	case re == "":
		return start, end, false, argErrorf("start_time is given without end_time: give both, or neither for the last 24 hours.")
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
		return start, end, true, argErrorf("end_time %s is before start_time %s.", f(end), f(start))
	case end.Equal(start):
		return start, end, true, argErrorf("end_time %s is the same as start_time: give a later end_time.", f(end))
	}
	return start, end, true, nil
}

func startInPast(start, now time.Time) error {
	if !start.Before(now) {
		return argErrorf("start_time %s is not in the past (now is %s UTC): there is no content yet.", activity.FormatTime(start), activity.FormatTime(now))
	}
	return nil
}

// MaxSearchLimit is the most records search-records returns in one call.
const MaxSearchLimit = MaxListLimit

// searchRequest is search-records' arguments, checked. The time range is
// read (given) but placed against the API's clock later (searchRange),
// after the first answer told what time the API has.
type searchRequest struct {
	contentTypes []string // empty: the enabled subscriptions
	criteria     search.Criteria
	matcher      *search.Matcher
	start, end   time.Time
	rangeGiven   bool
	limit        int
	timeout      time.Duration // 0: the timeout parameter
}

// searchArgs reads and checks every search-records argument that does not
// depend on the current time; a search without any record filter is
// refused, so it never downloads everything.
func searchArgs(env *Env) (req searchRequest, err error) {
	for _, raw := range env.Args.List("content_types") {
		ct, ok := activity.CanonicalContentType(raw)
		if !ok {
			return req, argErrorf("content_types: %q is not a content type of the API: use %s (case does not matter), or leave content_types empty to search every enabled subscription.", raw, strings.Join(activity.ContentTypes, ", "))
		}
		if !slices.Contains(req.contentTypes, ct) {
			req.contentTypes = append(req.contentTypes, ct)
		}
	}
	list := env.Args.List
	req.criteria = search.Criteria{
		UserIDs:      list("user_ids"),
		ClientIPs:    list("client_ips"),
		ObjectIDs:    list("object_ids"),
		Operations:   list("operations"),
		RecordTypes:  list("record_types"),
		Workloads:    list("workloads"),
		ResultStatus: list("result_status"),
		Query:        env.Args.String("query"),
	}
	if req.criteria.Empty() {
		return req, argErrorf("give at least one record filter: user_ids, client_ips, object_ids, operations, record_types, workloads, result_status or query. A search without one would download every record of every content type; use ms-management-activity-list-content to list content.")
	}
	if req.matcher, err = search.New(req.criteria); err != nil {
		return req, &ArgumentError{endSentence(err)}
	}
	if req.start, req.end, req.rangeGiven, err = parseTimeRange(env); err != nil {
		return req, err
	}
	if req.limit, err = params.PositiveInt("limit", env.Args.String("limit"), 1000, MaxSearchLimit, "1000"); err != nil {
		return req, argError(err)
	}
	if req.timeout, err = timeoutArg(env); err != nil {
		return req, err
	}
	return req, nil
}

// searchRange places the search's range against now (the API's time):
// default the last 24 hours; an end in the future is now. The range is
// where records must have happened; list is where their blobs are
// listed: from start (never more than the API's retention back; warning
// says so when it cuts the range) to end plus the lateness margin (never
// past now).
func searchRange(req *searchRequest, now time.Time, lateness time.Duration) (start, end time.Time, list [2]time.Time, warning string, err error) {
	now = now.UTC().Truncate(time.Second)
	start, end = req.start, req.end
	if !req.rangeGiven {
		start, end = now.Add(-24*time.Hour), now
	}
	if err := startInPast(start, now); err != nil {
		return start, end, list, "", err
	}
	if end.After(now) {
		end = now
	}
	f := activity.FormatTime
	list = [2]time.Time{start, end.Add(lateness)}
	if list[1].After(now) {
		list[1] = now
	}
	// The margin keeps the first listing clear of the API's 7-day limit
	// while the request travels.
	if earliest := now.Add(-activity.Retention + fetch.SafetyMargin); start.Before(earliest) {
		list[0] = earliest
		warning = fmt.Sprintf("start_time %s is more than 7 days ago: the API lists content of the last 7 days only, so content made available before %s was not searched and records from before then may be missing.", f(start), f(earliest))
		if !list[1].After(earliest) {
			return start, end, list, "", argErrorf("the range %s – %s is more than 7 days ago, even with the lateness margin: the API serves content of the last 7 days only, so nothing of it can be searched (start at %s or later).", f(start), f(end), f(earliest))
		}
	}
	return start, end, list, warning, nil
}

// endSentence ends err's message with a full stop unless it already ends a
// sentence (the filter's messages end with "." or "did you mean …?").
func endSentence(err error) error {
	if m := err.Error(); strings.HasSuffix(m, ".") || strings.HasSuffix(m, "?") {
		return err
	}
	return fmt.Errorf("%w.", err)
}

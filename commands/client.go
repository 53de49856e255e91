package commands

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/progress"
	"github.com/secops-go/ms-management-activity/params"
)

// Overall deadlines per command: a run never hangs longer than this, even
// when every request is slow but within its own timeout. list-content's
// deadline grows with a large timeout argument.
const (
	listContentDeadline  = 5 * time.Minute
	subscriptionDeadline = 2 * time.Minute
)

// MaxListLimit is the hard cap on records list-content returns in one call.
const MaxListLimit = 100000

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
	})
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

package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/params"
)

func searchRecord(id, user string, at time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"CreationTime":%q,"Id":%q,"Operation":"FileAccessed","RecordType":6,"Workload":"SharePoint","UserId":%q,"ClientIP":"203.0.113.7"}`,
		at.Format("2006-01-02T15:04:05"), id, user))
}

// searchEntries runs search-records and returns the note's human-readable
// text, its records' Ids and the warnings.
func (e *emu) search(t *testing.T, extraParams, args map[string]any) (hr string, ids []string, warnings []string, code int) {
	t.Helper()
	p := map[string]any{"base_url": e.srv.BaseURL()}
	for k, v := range extraParams {
		p[k] = v
	}
	out, code := Run(t.Context(), &Envelope{Command: CmdSearchRecords, Params: p, Args: args}, e.deps)
	for _, en := range out.Results {
		switch en.Type {
		case xcontext.TypeNote:
			hr = en.HumanReadable
			b, _ := json.Marshal(en.Contents)
			var recs []struct{ Id string }
			if err := json.Unmarshal(b, &recs); err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				ids = append(ids, r.Id)
			}
		case xcontext.TypeWarning:
			warnings = append(warnings, fmt.Sprint(en.Contents))
		case xcontext.TypeError:
			warnings = append(warnings, "ERROR: "+fmt.Sprint(en.Contents))
		}
	}
	return hr, ids, warnings, code
}

// A blob that fails on every attempt is a warning naming it; the search
// goes on with the other blobs and says it is incomplete.
func TestSearchBlobFailingAfterRetries(t *testing.T) {
	e := newEmu(t)
	e.srv.Subscribe("contoso", "Audit.SharePoint")
	e.srv.AddBlob("contoso", "Audit.SharePoint", testNow.Add(-5*time.Hour), searchRecord("a", "alice@contoso.com", testNow.Add(-6*time.Hour)))
	e.srv.AddBlob("contoso", "Audit.SharePoint", testNow.Add(-4*time.Hour), searchRecord("b", "alice@contoso.com", testNow.Add(-5*time.Hour)))
	e.srv.FailNext("blob", 6, emulator.Status(500)) // every attempt of the first blob
	hr, ids, warnings, code := e.search(t, map[string]any{"download_concurrency": "1"}, map[string]any{"user_ids": "alice@contoso.com", "content_types": "Audit.SharePoint"})
	if code != 0 {
		t.Fatalf("exit %d: %v", code, warnings)
	}
	if strings.Join(ids, ",") != "b" {
		t.Errorf("records %v, want [b]", ids)
	}
	if !strings.Contains(hr, "**The search is incomplete**: 1 content blob could not be read") {
		t.Errorf("human-readable does not say the search is incomplete:\n%s", hr)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "HTTP 500") || !strings.Contains(warnings[0], "Skipped 1 of 2 content blobs of Audit.SharePoint") {
		t.Errorf("warnings %q, want one naming the failed blob", warnings)
	}
}

// A listing that fails after retries is a warning; the other content
// types are still searched. When every listing fails, the command fails.
func TestSearchListingFailures(t *testing.T) {
	e := newEmu(t)
	for _, ct := range []string{"Audit.SharePoint", "Audit.Exchange"} {
		e.srv.Subscribe("contoso", ct)
		e.srv.AddBlob("contoso", ct, testNow.Add(-2*time.Hour), searchRecord("r-"+ct, "alice@contoso.com", testNow.Add(-3*time.Hour)))
	}
	// The first listing fails on all its attempts.
	e.srv.FailNext("subscriptions/content", 6, emulator.Status(503))
	hr, ids, warnings, code := e.search(t, map[string]any{"download_concurrency": "1"}, map[string]any{"user_ids": "alice@contoso.com"})
	if code != 0 {
		t.Fatalf("exit %d: %v", code, warnings)
	}
	if len(ids) != 1 {
		t.Errorf("records %v, want the one of the content type whose listing worked", ids)
	}
	if !strings.Contains(hr, "1 listing failed") || len(warnings) != 1 || !strings.Contains(warnings[0], "1 of 2 content listings failed after retries") {
		t.Errorf("hr:\n%s\nwarnings %q", hr, warnings)
	}

	e.srv.FailNext("subscriptions/content", 12, emulator.Status(503))
	_, _, warnings, code = e.search(t, nil, map[string]any{"user_ids": "alice@contoso.com"})
	if code == 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "the search could not list any content") {
		t.Errorf("every listing failed: exit %d, %q; want a failure", code, warnings)
	}
}

// "Now" is the API's: with the host clock two hours behind Microsoft's,
// the default range is the API's last 24 hours and a record of the API's
// last hour is found (with the host's clock it would lie in the future).
func TestSearchUsesTheAPIClock(t *testing.T) {
	e := newEmu(t)
	e.srv.SetClockOffset(2 * time.Hour)
	apiNow := testNow.Add(2 * time.Hour)
	e.srv.Subscribe("contoso", "Audit.General")
	e.srv.AddBlob("contoso", "Audit.General", apiNow.Add(-10*time.Minute), searchRecord("recent", "alice@contoso.com", apiNow.Add(-30*time.Minute)))
	hr, ids, warnings, code := e.search(t, nil, map[string]any{"user_ids": "alice@contoso.com"})
	if code != 0 || strings.Join(ids, ",") != "recent" {
		t.Fatalf("exit %d, records %v, warnings %q; want the record of the API's last hour", code, ids, warnings)
	}
	if want := "to 2026-11-28T14:00:00"; !strings.Contains(hr, want) {
		t.Errorf("human-readable lacks %q (the API's now):\n%s", want, hr)
	}
}

// The lateness margin is a parameter: with 1 hour, a blob made available
// 90 minutes after end_time is not listed.
func TestSearchLatenessParameter(t *testing.T) {
	e := newEmu(t)
	e.srv.Subscribe("contoso", "Audit.General")
	end := testNow.Add(-4 * time.Hour)
	e.srv.AddBlob("contoso", "Audit.General", end.Add(90*time.Minute), searchRecord("late", "alice@contoso.com", end.Add(-time.Minute)))
	args := map[string]any{"user_ids": "alice@contoso.com", "start_time": activityTime(end.Add(-time.Hour)), "end_time": activityTime(end)}
	for lateness, want := range map[string]string{"1 hour": "", "2 hours": "late", "": "late"} {
		_, ids, warnings, code := e.search(t, map[string]any{"search_lateness": lateness}, args)
		if code != 0 {
			t.Fatalf("search_lateness %q: exit %d: %v", lateness, code, warnings)
		}
		if got := strings.Join(ids, ","); got != want {
			t.Errorf("search_lateness %q: records [%s], want [%s]", lateness, got, want)
		}
	}
	_, _, warnings, code := e.search(t, map[string]any{"search_lateness": "soon"}, args)
	if code == 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "search_lateness") {
		t.Errorf("a bad search_lateness: exit %d, %q", code, warnings)
	}
}

func activityTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// Argument errors are refused before any request, with a message naming
// the argument.
func TestSearchArgumentErrors(t *testing.T) {
	e := newEmu(t)
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "give at least one record filter"},
		{map[string]any{"query": "   "}, "give at least one record filter"},
		{map[string]any{"user_ids": "a", "content_types": "Audit.General,Audit.Teams"}, `content_types: "Audit.Teams" is not a content type`},
		{map[string]any{"record_types": "SharePointFileOp"}, "record_types:"},
		{map[string]any{"client_ips": "10.0.0.0/33"}, `client_ips: "10.0.0.0/33" is not an IP address or CIDR range`},
		{map[string]any{"user_ids": "a", "limit": "100001"}, "limit"},
		{map[string]any{"user_ids": "a", "start_time": "2026-11-28T10:00:00"}, "start_time is given without end_time"},
		{map[string]any{"user_ids": "a", "start_time": "2026-11-28T10:00:00", "end_time": "2026-11-28T09:00:00"}, "is before start_time"},
	} {
		_, _, warnings, code := e.search(t, nil, c.args)
		if code == 0 || len(warnings) != 1 || !strings.Contains(warnings[0], c.want) {
			t.Errorf("args %v: exit %d, %q; want an error containing %q", c.args, code, warnings, c.want)
		}
	}
	if n := e.srv.Count("subscriptions/list") + e.srv.Count("subscriptions/content"); n != 0 {
		t.Errorf("%d requests for arguments that are refused", n)
	}
}

// expiringContext reports DeadlineExceeded once expire is called: a
// deadline that passes at a chosen point of the run, not after a real-time
// wait.
type expiringContext struct {
	context.Context
	once sync.Once
	done chan struct{}
}

func newExpiringContext() *expiringContext {
	return &expiringContext{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiringContext) expire()               { c.once.Do(func() { close(c.done) }) }
func (c *expiringContext) Done() <-chan struct{} { return c.done }
func (c *expiringContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// countingTransport calls after once the n-th blob answer has arrived.
type countingTransport struct {
	base  http.RoundTripper
	n     atomic.Int32
	at    int32
	after func()
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if strings.Contains(r.URL.Path, "/activity/feed/audit/") && t.n.Add(1) == t.at {
		t.after()
	}
	return resp, err
}

// A search that runs out of time returns what it found, says so and is
// marked incomplete; the records of the blobs it read are there.
func TestSearchOutOfTimeReturnsWhatItFound(t *testing.T) {
	e := newEmu(t)
	e.srv.Subscribe("contoso", "Audit.General")
	for i := range 6 {
		e.srv.AddBlob("contoso", "Audit.General", testNow.Add(-time.Duration(10-i)*time.Hour), searchRecord(fmt.Sprint("r", i), "alice@contoso.com", testNow.Add(-time.Duration(11-i)*time.Hour)))
	}
	ctx := newExpiringContext()
	base := e.srv.Client().Transport
	tr := &countingTransport{base: base, at: 2, after: ctx.expire}
	e.deps.HTTPClient = func(p *params.Params) *http.Client { return &http.Client{Transport: tr} }
	envl := &Envelope{Command: CmdSearchRecords, Params: map[string]any{"base_url": e.srv.BaseURL(), "download_concurrency": "1"},
		Args: map[string]any{"user_ids": "alice@contoso.com"}}
	out, code := Run(ctx, envl, e.deps)
	if code != 0 {
		t.Fatalf("exit %d: %+v", code, out.Results)
	}
	hr := out.Results[0].HumanReadable
	b, _ := json.Marshal(out.Results[0].Contents)
	if !strings.Contains(string(b), `"r0"`) || strings.Contains(string(b), `"r5"`) {
		t.Errorf("records %s: want the first blob's, not the last's", b)
	}
	if !strings.Contains(hr, "**The search is incomplete**: the search ran out of time") {
		t.Errorf("human-readable:\n%s", hr)
	}
	if len(out.Results) != 2 || !strings.Contains(fmt.Sprint(out.Results[1].Contents), "The search ran out of time") {
		t.Errorf("want a warning saying the search ran out of time: %+v", out.Results[1:])
	}
}

// A cancelled search (Ctrl-C) fails: it is not a result.
func TestSearchCancelledFails(t *testing.T) {
	e := newEmu(t)
	e.srv.Subscribe("contoso", "Audit.General")
	for i := range 4 {
		e.srv.AddBlob("contoso", "Audit.General", testNow.Add(-time.Duration(10-i)*time.Hour), searchRecord(fmt.Sprint("r", i), "alice@contoso.com", testNow.Add(-time.Duration(11-i)*time.Hour)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &countingTransport{base: e.srv.Client().Transport, at: 2, after: cancel}
	e.deps.HTTPClient = func(p *params.Params) *http.Client { return &http.Client{Transport: tr} }
	envl := &Envelope{Command: CmdSearchRecords, Params: map[string]any{"base_url": e.srv.BaseURL(), "download_concurrency": "1"},
		Args: map[string]any{"user_ids": "alice@contoso.com"}}
	if out, code := Run(ctx, envl, e.deps); code == 0 {
		t.Fatalf("a cancelled search exited 0: %+v", out.Results)
	}
}

// timeoutTransport fails every request for one blob as an HTTP client
// timeout does (an error wrapping context.DeadlineExceeded), while the
// run's own context is fine.
type timeoutTransport struct {
	base http.RoundTripper
	blob string
}

func (t timeoutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/"+t.blob) {
		return nil, fmt.Errorf("net/http: request canceled (Client.Timeout exceeded while awaiting headers): %w", context.DeadlineExceeded)
	}
	return t.base.RoundTrip(r)
}

// A blob whose requests all time out is a skipped blob, not the end of the
// search.
func TestSearchBlobTimingOutIsAWarning(t *testing.T) {
	e := newEmu(t)
	e.srv.Subscribe("contoso", "Audit.General")
	slow := e.srv.AddBlob("contoso", "Audit.General", testNow.Add(-5*time.Hour), searchRecord("slow", "alice@contoso.com", testNow.Add(-6*time.Hour)))
	e.srv.AddBlob("contoso", "Audit.General", testNow.Add(-4*time.Hour), searchRecord("fine", "alice@contoso.com", testNow.Add(-5*time.Hour)))
	tr := timeoutTransport{base: e.srv.Client().Transport, blob: slow}
	e.deps.HTTPClient = func(p *params.Params) *http.Client { return &http.Client{Transport: tr} }
	hr, ids, warnings, code := e.search(t, nil, map[string]any{"user_ids": "alice@contoso.com"})
	if code != 0 {
		t.Fatalf("exit %d: %q", code, warnings)
	}
	if strings.Join(ids, ",") != "fine" || !strings.Contains(hr, "**The search is incomplete**: 1 content blob could not be read") {
		t.Errorf("records %v, hr:\n%s", ids, hr)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], slow) {
		t.Errorf("warnings %q, want one naming %s", warnings, slow)
	}
}

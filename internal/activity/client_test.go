package activity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

const tenant = "contoso"

// countingTokens is a static token source that counts Invalidate calls and
// mints a fresh emulator token after each.
type countingTokens struct {
	srv         *emulator.Server
	tok         atomic.Value
	invalidated atomic.Int32
}

func newTokens(srv *emulator.Server) *countingTokens {
	ts := &countingTokens{srv: srv}
	tok, _ := srv.IssueToken(tenant, time.Hour)
	ts.tok.Store(tok)
	return ts
}

func (c *countingTokens) Token(context.Context) (string, error) { return c.tok.Load().(string), nil }
func (c *countingTokens) Invalidate() {
	c.invalidated.Add(1)
	tok, _ := c.srv.IssueToken(tenant, time.Hour)
	c.tok.Store(tok)
}

type fixture struct {
	srv    *emulator.Server
	fake   *clock.Fake
	tokens *countingTokens
	client *Client
}

func newFixture(t testing.TB, mutate func(*Config)) *fixture {
	t.Helper()
	fake := clock.NewFake(testNow)
	srv := emulator.NewTLSServer(emulator.WithClock(fake))
	t.Cleanup(srv.Close)
	srv.AddTenant(tenant)
	f := &fixture{srv: srv, fake: fake, tokens: newTokens(srv)}
	cfg := Config{
		BaseURL:             srv.BaseURL(),
		PublisherIdentifier: "11111111-2222-3333-4444-555555555555",
		HTTP:                srv.Client(),
		Tokens:              f.tokens,
		Clock:               fake,
		Jitter:              func(time.Duration) time.Duration { return 0 },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

func rec(id string, rt int, workload, op string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"CreationTime":"2026-11-27T10:00:00.123","Id":%q,"Operation":%q,"OrganizationId":"org","RecordType":%d,"UserKey":"k","UserType":0,"Workload":%q,"UserId":"u","ClientIP":"10.0.0.1","Custom":{"nested":[%d]}}`, id, op, rt, workload, len(id)))
}

// addBlobs adds n blobs of m records each to Audit.General, created one
// minute apart from 20 hours ago, and returns the record IDs in listing
// order.
func (f *fixture) addBlobs(n, m int) []string {
	var ids []string
	for b := 0; b < n; b++ {
		var recs []json.RawMessage
		for r := 0; r < m; r++ {
			id := fmt.Sprintf("b%03d-r%03d", b, r)
			ids = append(ids, id)
			recs = append(recs, rec(id, 25, "MicrosoftTeams", "TeamCreated"))
		}
		f.srv.AddBlob(tenant, "Audit.General", testNow.Add(-20*time.Hour+time.Duration(b)*time.Minute), recs...)
	}
	return ids
}

func (f *fixture) window() (time.Time, time.Time) { return testNow.Add(-23 * time.Hour), testNow }

func (f *fixture) listAndDownload(t *testing.T) ([]string, error) {
	t.Helper()
	start, end := f.window()
	blobs, err := f.client.ListContent(context.Background(), "Audit.General", start, end)
	if err != nil {
		return nil, err
	}
	var ids []string
	err = f.client.Download(context.Background(), blobs, func(b Blob, recs []Record, err error) error {
		if err != nil {
			return err
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		return nil
	})
	return ids, err
}

func TestDownloadOrderDeterministic(t *testing.T) {
	for _, conc := range []int{1, 16} {
		t.Run(fmt.Sprint("parallelism-", conc), func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Concurrency = conc })
			f.srv.Subscribe(tenant, "Audit.General")
			f.srv.SetPageSize(7)
			want := f.addBlobs(45, 13)
			// Random latency faults on blobs make completion order differ
			// from listing order.
			for i := 0; i < 45; i += 3 {
				f.srv.FailNext("blob", 1, emulator.Slow(time.Duration(i%5)*time.Millisecond))
			}
			got, err := f.listAndDownload(t)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("order differs at parallelism %d", conc)
			}
			if n := f.srv.Count("subscriptions/content"); n != 7 {
				t.Errorf("listing requests = %d, want 7 pages of 7", n)
			}
			if n := f.srv.MissingPublisherIdentifier(); n != 0 {
				t.Errorf("%d requests without PublisherIdentifier", n)
			}
			if got := f.srv.LastPublisherIdentifier(); got != "11111111-2222-3333-4444-555555555555" {
				t.Errorf("PublisherIdentifier = %q", got)
			}
		})
	}
}

func TestDownloadStopsOnCallbackError(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Concurrency = 4 })
	f.srv.Subscribe(tenant, "Audit.General")
	f.addBlobs(30, 2)
	start, end := f.window()
	blobs, err := f.client.ListContent(context.Background(), "Audit.General", start, end)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = f.client.Download(context.Background(), blobs, func(Blob, []Record, error) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	// Workers fetch at most 2×concurrency ahead of the callback.
	if n := f.srv.Count("blob"); n > 3+2*4+4 {
		t.Errorf("%d blobs fetched for 3 consumed", n)
	}
}

func TestRetryMatrix(t *testing.T) {
	cases := []struct {
		name     string
		endpoint string
		fault    emulator.Fault
		n        int
		ok       bool
		requests int           // requests to the endpoint
		slept    time.Duration // with zero jitter
		code     string
	}{
		{"429", "subscriptions/list", emulator.Throttle(0), 2, true, 3, 250*time.Millisecond + 500*time.Millisecond, ""},
		{"429-retry-after", "subscriptions/list", emulator.Throttle(3 * time.Second), 1, true, 2, 3 * time.Second, ""},
		{"af429-as-403", "subscriptions/list", emulator.ThrottleAF429, 1, true, 2, 250 * time.Millisecond, ""},
		{"500", "subscriptions/list", emulator.Status(500), 1, true, 2, 250 * time.Millisecond, ""},
		{"502", "subscriptions/content", emulator.Status(502), 1, true, 2, 250 * time.Millisecond, ""},
		{"503", "blob", emulator.Status(503), 1, true, 2, 250 * time.Millisecond, ""},
		{"504", "blob", emulator.Status(504), 1, true, 2, 250 * time.Millisecond, ""},
		{"af50000", "blob", emulator.InternalError, 1, true, 2, 250 * time.Millisecond, ""},
		{"reset-mid-body", "blob", emulator.ResetMidBody, 1, true, 2, 250 * time.Millisecond, ""},
		{"truncated-once", "blob", emulator.TruncatedJSON, 1, true, 2, 250 * time.Millisecond, ""},
		{"500-five-times", "subscriptions/list", emulator.Status(500), 5, true, 6, (250 + 500 + 1000 + 2000 + 4000) * time.Millisecond, ""},
		{"500-exhausted", "subscriptions/list", emulator.Status(500), 6, false, 6, (250 + 500 + 1000 + 2000 + 4000) * time.Millisecond, ""},
		{"af429-exhausted", "subscriptions/list", emulator.ThrottleAF429, 10, false, 6, (250 + 500 + 1000 + 2000 + 4000) * time.Millisecond, CodeThrottled},
		{"non-json-400", "subscriptions/list", emulator.NonJSONError, 1, false, 1, 0, ""},
		{"401-refresh", "subscriptions/list", emulator.ExpiredToken, 1, true, 2, 0, ""},
		{"401-twice", "subscriptions/list", emulator.ExpiredToken, 2, false, 2, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.srv.Subscribe(tenant, "Audit.General")
			f.addBlobs(1, 3)
			f.srv.FailNext(c.endpoint, c.n, c.fault)
			var err error
			switch c.endpoint {
			case "subscriptions/list":
				_, err = f.client.ListSubscriptions(context.Background())
			default:
				_, err = f.listAndDownload(t)
			}
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if n := f.srv.Count(c.endpoint); n != c.requests {
				t.Errorf("requests = %d, want %d", n, c.requests)
			}
			if got := f.fake.Slept(); got != c.slept {
				t.Errorf("slept %v, want %v", got, c.slept)
			}
			if c.code != "" && ErrorCode(err) != c.code {
				t.Errorf("code = %q (%v)", ErrorCode(err), err)
			}
			if strings.HasPrefix(c.name, "401") && f.tokens.invalidated.Load() != 1 {
				t.Errorf("Invalidate called %d times, want 1", f.tokens.invalidated.Load())
			}
			if err != nil && strings.Contains(err.Error(), f.tokens.tok.Load().(string)) {
				t.Errorf("error shows the token")
			}
		})
	}
}

func TestErrorsExplainAFCodes(t *testing.T) {
	f := newFixture(t, nil)
	start, end := f.window()
	_, err := f.client.ListContent(context.Background(), "Audit.Exchange", start, end)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != CodeNoSubscription || ae.Status != 400 {
		t.Fatalf("err = %#v", err)
	}
	for _, want := range []string{"AF20022", "ms-management-activity-start-subscription content_type=Audit.Exchange", "12 hours"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if f.srv.Count("subscriptions/content") != 1 {
		t.Errorf("AF20022 was retried")
	}

	_, err = f.client.StartSubscription(context.Background(), "Audit.Exchange")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.client.StartSubscription(context.Background(), "Audit.Exchange")
	if ErrorCode(err) != CodeAlreadyEnabled {
		t.Fatalf("second start: %v", err)
	}
	subs, err := f.client.ListSubscriptions(context.Background())
	if err != nil || len(subs) != 1 || !subs[0].Enabled() || subs[0].ContentType != "Audit.Exchange" {
		t.Fatalf("subs = %+v, %v", subs, err)
	}
	if _, err := f.client.StopSubscription(context.Background(), "Audit.Exchange"); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.ListContent(context.Background(), "Audit.Exchange", testNow.Add(-8*24*time.Hour), testNow.Add(-7*24*time.Hour-time.Hour))
	if err == nil {
		t.Fatal("window 8 days ago accepted")
	}
}

func TestSkippableBlobs(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Subscribe(tenant, "Audit.General")
	f.addBlobs(2, 2)
	id := f.srv.AddBlob(tenant, "Audit.General", testNow.Add(-10*time.Hour), rec("x", 1, "Exchange", "Set"))
	f.srv.MarkExpired(id)
	f.addBlobs(1, 1)
	start, end := f.window()
	blobs, err := f.client.ListContent(context.Background(), "Audit.General", start, end)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	err = f.client.Download(context.Background(), blobs, func(b Blob, recs []Record, err error) error {
		if err != nil {
			if !IsSkippable(err) {
				return err
			}
			skipped = append(skipped, b.ContentID+" "+ErrorCode(err))
		}
		return nil
	})
	if err != nil || len(skipped) != 1 || skipped[0] != id+" "+CodeContentExpired {
		t.Fatalf("skipped %v, err %v", skipped, err)
	}
	if n := f.srv.Count("blob"); n != len(blobs) {
		t.Errorf("expired blob retried: %d blob requests for %d blobs", n, len(blobs))
	}
}

func TestTruncatedBlobPersistent(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Subscribe(tenant, "Audit.General")
	f.addBlobs(1, 20)
	f.srv.FailNext("blob", 100, emulator.TruncatedJSON)
	_, err := f.listAndDownload(t)
	var ce *ContentError
	if !errors.As(err, &ce) || !ce.Truncated || !IsSkippable(err) {
		t.Fatalf("err = %v", err)
	}
	if n := f.srv.Count("blob"); n != DefaultMaxAttempts {
		t.Errorf("blob requests = %d", n)
	}
}

func TestMaxBlobBytes(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBlobBytes = 1000 })
	f.srv.Subscribe(tenant, "Audit.General")
	f.addBlobs(1, 20)
	_, err := f.listAndDownload(t)
	var ce *ContentError
	if !errors.As(err, &ce) || !ce.TooLarge || !strings.Contains(err.Error(), "max_blob_mb") {
		t.Fatalf("err = %v", err)
	}
}

func TestPagingLoopDetected(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Subscribe(tenant, "Audit.General")
	f.srv.SetPageSize(2)
	f.srv.SetPagingLoop(true)
	f.addBlobs(7, 1)
	_, err := f.listAndDownload(t)
	if err == nil || !strings.Contains(err.Error(), "endless loop") {
		t.Fatalf("err = %v", err)
	}
	if n := f.srv.Count("subscriptions/content"); n > 5 {
		t.Errorf("%d listing requests", n)
	}
}

// expireAfterFirstPage makes the emulator's page links stale right after
// the first listing page is answered, once.
type expireAfterFirstPage struct {
	base http.RoundTripper
	srv  *emulator.Server
	done atomic.Bool
}

func (e *expireAfterFirstPage) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := e.base.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/subscriptions/content") && !e.done.Swap(true) {
		e.srv.ExpireNextPages()
	}
	return resp, err
}

func TestStalePageRestartsWindowOnce(t *testing.T) {
	var f *fixture
	tr := &expireAfterFirstPage{}
	f = newFixture(t, func(c *Config) { c.HTTP = &http.Client{Transport: tr} })
	tr.base, tr.srv = f.srv.Client().Transport, f.srv
	f.srv.Subscribe(tenant, "Audit.General")
	f.srv.SetPageSize(3)
	want := f.addBlobs(8, 1)
	got, err := f.listAndDownload(t)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v", got)
	}
	// page 1, stale page 2, then pages 1–3 again.
	if n := f.srv.Count("subscriptions/content"); n != 5 {
		t.Errorf("listing requests = %d, want 5", n)
	}
}

func TestOver24hWindowSplit(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Subscribe(tenant, "Audit.General")
	for h := 1; h <= 60; h += 6 {
		f.srv.AddBlob(tenant, "Audit.General", testNow.Add(-time.Duration(h)*time.Hour), rec(fmt.Sprint("h", h), 1, "Exchange", "Set"))
	}
	blobs, err := f.client.ListContent(context.Background(), "Audit.General", testNow.Add(-61*time.Hour), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 10 {
		t.Errorf("%d blobs, want 10", len(blobs))
	}
	if n := f.srv.Count("subscriptions/content"); n != 3 {
		t.Errorf("listing requests = %d, want 3 windows", n)
	}
	for i := 1; i < len(blobs); i++ {
		a, _ := blobs[i-1].Created()
		b, _ := blobs[i].Created()
		if b.Before(a) {
			t.Errorf("blobs out of order at %d", i)
		}
	}
}

func TestRateLimiterUsesClock(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RequestsPerMinute = 60 })
	for i := 0; i < 70; i++ {
		if _, err := f.client.ListSubscriptions(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Burst of 60, then one per second.
	if s := f.fake.Slept(); s < 9*time.Second || s > 11*time.Second {
		t.Errorf("slept %v, want about 10s", s)
	}
}

func TestAdaptiveConcurrency(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Concurrency = 16 })
	f.srv.Subscribe(tenant, "Audit.General")
	f.addBlobs(4, 1)
	f.srv.FailNext("blob", 3, emulator.Throttle(0))
	if _, err := f.listAndDownload(t); err != nil {
		t.Fatal(err)
	}
	if c := f.client.Stats().Concurrency; c >= 16 {
		t.Errorf("concurrency %d after throttling, want < 16", c)
	}
	if s := f.client.Stats(); s.Throttled != 3 || s.Retries != 3 {
		t.Errorf("stats %+v", s)
	}
	g := newGate(8)
	g.throttle()
	g.throttle()
	if g.current() != 2 {
		t.Fatalf("limit %d", g.current())
	}
	for i := 0; i < 100; i++ {
		g.success()
	}
	if g.current() != 8 {
		t.Errorf("limit %d after recovery, want 8", g.current())
	}
}

func TestTenantFromTokenAndFallback(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Tenant = "someone-else" })
	if _, err := f.client.ListSubscriptions(context.Background()); err != nil {
		t.Fatalf("tid claim not used: %v", err)
	}
	// A token with no tid uses the configured tenant: the emulator rejects
	// it (not its token), which shows the URL carried the fallback.
	c, _ := New(Config{BaseURL: f.srv.BaseURL(), HTTP: f.srv.Client(), Tokens: StaticToken("opaque"), Clock: f.fake, Tenant: ""})
	_, err := c.ListSubscriptions(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no tenant") {
		t.Errorf("err = %v", err)
	}
}

func TestTransportClassification(t *testing.T) {
	if transportRetryable(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}) {
		t.Error("DNS not found retried")
	}
	if !transportRetryable(&net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}) {
		t.Error("temporary DNS failure not retried")
	}
	if !transportRetryable(&net.OpError{Op: "dial", Err: errors.New("connection refused")}) {
		t.Error("connection refused not retried")
	}
	// x509: a TLS server the client does not trust.
	srv := emulator.NewTLSServer()
	defer srv.Close()
	fake := clock.NewFake(testNow)
	tok, _ := srv.IssueToken(tenant, time.Hour)
	c, _ := New(Config{BaseURL: srv.BaseURL(), HTTP: &http.Client{}, Tokens: StaticToken(tok), Clock: fake})
	_, err := c.ListSubscriptions(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v", err)
	}
	if fake.Slept() != 0 {
		t.Errorf("x509 error retried (slept %v)", fake.Slept())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := testNow
	for in, want := range map[string]time.Duration{
		"3": 3 * time.Second, "0.5": 500 * time.Millisecond, "600": 60 * time.Second,
		now.Add(10 * time.Second).Format(http.TimeFormat): 10 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		got, ok := parseRetryAfter(in, now)
		if !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "soon", "-1"} {
		if _, ok := parseRetryAfter(bad, now); ok {
			t.Errorf("parseRetryAfter(%q) ok", bad)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	c, _ := New(Config{BaseURL: "https://x/", Tokens: StaticToken("t"), Jitter: func(max time.Duration) time.Duration { return max - 1 }})
	prev := time.Duration(0)
	for a := 1; a <= 10; a++ {
		d := c.backoff(a)
		if d > backoffCap || d < prev {
			t.Errorf("attempt %d: %v", a, d)
		}
		prev = d
	}
	if d := c.backoff(1); d < 250*time.Millisecond || d >= 500*time.Millisecond {
		t.Errorf("first backoff %v", d)
	}
}

// TestDeadline: a deadline on the injected clock stops the back-off at
// exactly the deadline, naming the last failure; no wall time is waited.
func TestDeadline(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.FailNext("subscriptions/list", 10, emulator.Status(503))
	start := f.fake.Now()
	ctx, cancel := clock.WithTimeout(context.Background(), f.fake, 1200*time.Millisecond)
	defer cancel()
	_, err := f.client.ListSubscriptions(ctx)
	if err == nil || !strings.Contains(err.Error(), "deadline") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
	// Back-off 0.25 s, 0.5 s (half of 0.5 s, 1 s: no jitter); the third
	// wait, 1 s, would pass the deadline.
	if got := f.fake.Now().Sub(start); got != 1200*time.Millisecond {
		t.Errorf("fake time advanced %s, want the 1.2 s deadline", got)
	}
	if n := f.srv.Count("subscriptions/list"); n != 3 {
		t.Errorf("%d sends before the deadline, want 3", n)
	}
}

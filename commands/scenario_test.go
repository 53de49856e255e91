package commands

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/params"
)

// scenario is the emulator state a golden case needs (scenario.json).
type scenario struct {
	// Tenant is the tenant the token is issued for (default "contoso").
	Tenant string `json:"tenant"`
	// Subscriptions are started before the case runs.
	Subscriptions []string `json:"subscriptions"`
	// Blobs are added in order.
	Blobs []struct {
		ContentType string            `json:"contentType"`
		Created     time.Time         `json:"created"`
		Expired     bool              `json:"expired"`
		Records     []json.RawMessage `json:"records"`
	} `json:"blobs"`
	// PageSize of content listings (0 = the emulator's default).
	PageSize int `json:"pageSize"`
	// PagingLoop makes NextPageUri point back to an earlier page.
	PagingLoop bool `json:"pagingLoop"`
	// Faults are injected into the next requests of an endpoint.
	Faults []struct {
		Endpoint   string  `json:"endpoint"`
		N          int     `json:"n"`
		Fault      string  `json:"fault"`
		RetryAfter float64 `json:"retryAfter"` // seconds, for "429"
	} `json:"faults"`
	// Apps are registered with the emulator's token endpoint (for "real" auth).
	Apps []struct {
		ClientID string `json:"clientId"`
		Secret   string `json:"secret"`
	} `json:"apps"`
	// Auth is "static" (default: a token minted by the emulator for Tenant)
	// or "real" (the production token source, configured by the envelope's
	// params pointed at {{EMULATOR}}).
	Auth string `json:"auth"`
	// ClockOffset runs the emulator (Microsoft's clock) this far ahead of
	// the engine's (a Go duration, negative: behind), e.g. "-2h3m" for an
	// engine 2h03m ahead.
	ClockOffset string `json:"clockOffset"`
	// BrokenBlobs answer Status on every download until healed (Blob is
	// an index into Blobs).
	BrokenBlobs []struct {
		Blob   int `json:"blob"`
		Status int `json:"status"`
	} `json:"brokenBlobs"`
	// RepeatListing lists every blob twice.
	RepeatListing bool `json:"repeatListing"`
	// Runs run the envelope again, each after its changes, with the
	// previous run's lastRun; result.json then holds every run's output.
	Runs []scenarioRun `json:"runs"`
}

// scenarioRun is one more run of a multi-run case.
type scenarioRun struct {
	// Advance moves the clocks on (a Go duration).
	Advance string `json:"advance"`
	// Heal heals broken blobs (indexes into Blobs).
	Heal []int `json:"heal"`
}

// appliedScenario is a running scenario.
type appliedScenario struct {
	url     string
	srv     *emulator.Server
	blobIDs []string
	runs    []scenarioRun
}

// before applies a run's changes.
func (a *appliedScenario) before(t *testing.T, r scenarioRun, fake *clock.Fake) {
	t.Helper()
	if r.Advance != "" {
		d, err := time.ParseDuration(r.Advance)
		if err != nil {
			t.Fatalf("scenario.json: advance %q: %v", r.Advance, err)
		}
		fake.Advance(d)
	}
	for _, i := range r.Heal {
		a.srv.HealBlob(a.blobIDs[i])
	}
}

func faultNamed(t *testing.T, name string, retryAfter float64) emulator.Fault {
	t.Helper()
	switch name {
	case "429":
		return emulator.Throttle(time.Duration(retryAfter * float64(time.Second)))
	case "af429-403":
		return emulator.ThrottleAF429
	case "500", "502", "503", "504":
		code := map[string]int{"500": 500, "502": 502, "503": 503, "504": 504}[name]
		return emulator.Status(code)
	case "af50000":
		return emulator.InternalError
	case "non-json":
		return emulator.NonJSONError
	case "expired-token":
		return emulator.ExpiredToken
	case "reset":
		return emulator.ResetMidBody
	case "truncated":
		return emulator.TruncatedJSON
	case "not-array":
		return emulator.NotArray
	case "af20055":
		return emulator.WindowRefused
	}
	t.Fatalf("scenario.json: unknown fault %q", name)
	return emulator.Fault{}
}

// applyScenario starts the emulator described by scenario.json on the golden
// clock, wires deps to it (HTTP client, token source) and returns its root
// URL, which replaces {{EMULATOR}} in the envelope and in the result.
func applyScenario(t *testing.T, raw []byte, fake *clock.Fake, deps *Deps) *appliedScenario {
	t.Helper()
	var sc scenario
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatalf("scenario.json: %v", err)
	}
	if sc.Tenant == "" {
		sc.Tenant = "contoso"
	}
	srv := emulator.NewTLSServer(emulator.WithClock(fake))
	t.Cleanup(srv.Close)
	srv.AddTenant(sc.Tenant)
	for _, ct := range sc.Subscriptions {
		srv.Subscribe(sc.Tenant, ct)
	}
	applied := &appliedScenario{srv: srv, runs: sc.Runs}
	if sc.ClockOffset != "" {
		d, err := time.ParseDuration(sc.ClockOffset)
		if err != nil {
			t.Fatalf("scenario.json: clockOffset %q: %v", sc.ClockOffset, err)
		}
		srv.SetClockOffset(d)
	}
	for _, b := range sc.Blobs {
		id := srv.AddBlob(sc.Tenant, b.ContentType, b.Created, b.Records...)
		if b.Expired {
			srv.MarkExpired(id)
		}
		applied.blobIDs = append(applied.blobIDs, id)
	}
	srv.SetRepeatListing(sc.RepeatListing)
	for _, b := range sc.BrokenBlobs {
		srv.BreakBlob(applied.blobIDs[b.Blob], b.Status)
	}
	if sc.PageSize > 0 {
		srv.SetPageSize(sc.PageSize)
	}
	if sc.PagingLoop {
		srv.SetPagingLoop(true)
	}
	for _, f := range sc.Faults {
		srv.FailNext(f.Endpoint, f.N, faultNamed(t, f.Fault, f.RetryAfter))
	}
	for _, a := range sc.Apps {
		srv.RegisterApp(emulator.App{TenantID: sc.Tenant, ClientID: a.ClientID, Secret: a.Secret})
	}
	base := srv.Client().Transport
	deps.HTTPClient = func(p *params.Params) *http.Client {
		return &http.Client{Timeout: p.Timeout, Transport: base}
	}
	if sc.Auth != "real" {
		deps.TokenSource = func(context.Context, *Env) (activity.TokenSource, error) {
			tok, _ := srv.IssueToken(sc.Tenant, time.Hour)
			return activity.StaticToken(tok), nil
		}
	}
	applied.url = srv.URL
	return applied
}

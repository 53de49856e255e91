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
	}
	t.Fatalf("scenario.json: unknown fault %q", name)
	return emulator.Fault{}
}

// applyScenario starts the emulator described by scenario.json on the golden
// clock, wires deps to it (HTTP client, token source) and returns its root
// URL, which replaces {{EMULATOR}} in the envelope and in the result.
func applyScenario(t *testing.T, raw []byte, fake *clock.Fake, deps *Deps) string {
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
	for _, b := range sc.Blobs {
		id := srv.AddBlob(sc.Tenant, b.ContentType, b.Created, b.Records...)
		if b.Expired {
			srv.MarkExpired(id)
		}
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
	return srv.URL
}

package params

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

func TestDecodeLooseTypesAndLegacyFallbacks(t *testing.T) {
	p, err := Decode(map[string]any{
		"credentials_auth_id":          map[string]any{"identifier": "", "password": "client-id"},
		"refresh_token":                "tenant-legacy",
		"credentials_enc_key":          map[string]any{"identifier": "", "password": ""},
		"enc_key":                      "legacy-secret",
		"self_deployed":                "true",
		"insecure":                     true,
		"timeout":                      30.0,
		"content_types_to_fetch":       "Audit.General, DLP.All",
		"max_fetch":                    "500",
		"managed_identities_client_id": map[string]any{"password": "mi-id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != "client-id" || p.TokenOrTenant != "tenant-legacy" || p.ClientSecret != "legacy-secret" {
		t.Errorf("credentials = %q %q %q", p.ClientID, p.TokenOrTenant, p.ClientSecret)
	}
	if !p.SelfDeployed || !p.Insecure || p.Timeout != 30*time.Second || p.MaxFetch != 500 {
		t.Errorf("loose types: %+v", p)
	}
	if got := strings.Join(p.ContentTypesToFetch, "|"); got != "Audit.General|DLP.All" {
		t.Errorf("content types = %q", got)
	}
	if p.ManagedIdentityID != "mi-id" {
		t.Errorf("managed identity id = %q", p.ManagedIdentityID)
	}
	if p.BaseURL.String() != DefaultBaseURL || p.PublisherIdentifier != activity.DefaultPublisher || p.DownloadConcurrency != activity.DefaultConcurrency {
		t.Errorf("defaults: %v %v %v", p.BaseURL, p.PublisherIdentifier, p.DownloadConcurrency)
	}
}

func TestDecodeErrorsNeverEchoSecrets(t *testing.T) {
	_, err := Decode(map[string]any{"credentials_enc_key": map[string]any{"password": map[string]any{"x": "TopSecret42"}}})
	if err == nil || strings.Contains(err.Error(), "TopSecret42") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		in    map[string]any
		param string
	}{
		{map[string]any{"timeout": "0"}, "timeout"},
		{map[string]any{"timeout": "abc"}, "timeout"},
		{map[string]any{"base_url": "ftp://x/"}, "base_url"},
		{map[string]any{"base_url": "http://example.com/api/v1.0/"}, "base_url"},
		{map[string]any{"download_concurrency": "65"}, "download_concurrency"},
		{map[string]any{"max_fetch": "10001"}, "max_fetch"},
	}
	for _, tc := range tests {
		_, err := Decode(tc.in)
		var pe *Error
		if !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("Decode(%v) = %v, want an error about %s", tc.in, err, tc.param)
		}
	}
	if _, err := Decode(map[string]any{"base_url": "http://127.0.0.1:8080/api/v1.0"}); err != nil {
		t.Errorf("http to loopback must be accepted: %v", err)
	}
}

func TestParseDelta(t *testing.T) {
	good := map[string]time.Duration{
		"10 minutes": 10 * time.Minute, "1 minute": time.Minute, "1 hour": time.Hour, "2 Hours": 2 * time.Hour,
		"3 days": 72 * time.Hour, "1 week": 7 * 24 * time.Hour, " 1  month ": 30 * 24 * time.Hour, "1 year": 365 * 24 * time.Hour,
	}
	for in, want := range good {
		if got, err := ParseDelta("first_fetch_delta", in); err != nil || got != want {
			t.Errorf("ParseDelta(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "minutes", "ten minutes", "-1 day", "1 fortnight", "1 day ago", "99999999999 years"} {
		_, err := ParseDelta("first_fetch_delta", in)
		if err == nil || !strings.Contains(err.Error(), "first_fetch_delta") || !strings.Contains(err.Error(), "e.g.") {
			t.Errorf("ParseDelta(%q) err = %v, want a message naming the field with an example", in, err)
		}
	}
}

// TestWrongTypeSaysWhatIsExpected: "self_deployed: yes please" used to say
// only "wrong type of value" (issue 17); the message now names the
// expected kind, and yes/no/on/off count as booleans as engines send them.
func TestWrongTypeSaysWhatIsExpected(t *testing.T) {
	for _, c := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"self_deployed": "yes please"}, "self_deployed (expected true or false)"},
		{map[string]any{"insecure": []any{1}}, "insecure (expected true or false)"},
		{map[string]any{"credentials_enc_key": map[string]any{"password": []any{"x"}}}, "credentials_enc_key.password (expected text)"},
		{map[string]any{"content_types_to_fetch": map[string]any{"a": 1}}, "content_types_to_fetch (expected a list, or text separated by commas)"},
	} {
		_, err := Decode(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%v) = %v, want %q", c.in, err, c.want)
		}
	}
	for _, v := range []string{"yes", "No", "on", "OFF", "true", "0"} {
		if _, err := Decode(map[string]any{"self_deployed": v, "credentials_refresh_token": "t"}); err != nil {
			t.Errorf("self_deployed %q: %v", v, err)
		}
	}
}

// TestFirstFetchAtMostSevenDays: the API keeps content 7 days, so a first
// fetch further back is refused instead of accepted with a warning.
func TestFirstFetchAtMostSevenDays(t *testing.T) {
	for in, ok := range map[string]bool{"7 days": true, "1 week": true, "168 hours": true, "30 days": false, "8 days": false, "1 month": false} {
		p := &Params{FirstFetchDelta: in}
		_, err := p.FirstFetch()
		if (err == nil) != ok {
			t.Errorf("first_fetch_delta %q: %v", in, err)
		}
		if err != nil && !strings.Contains(err.Error(), "at most 7 days") {
			t.Errorf("first_fetch_delta %q: %v", in, err)
		}
	}
}

package params

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// FuzzParseDelta checks that ParseDelta never panics, that every accepted
// value is positive, at most 200 years, and round-trips through minutes, and
// that every rejection is a *Error naming the parameter and showing an
// example.
func FuzzParseDelta(f *testing.F) {
	for _, s := range []string{"10 minutes", "1 minute", "1 hour", "2 Hours", "3 days", "1 week", " 1  month ", "1 year",
		"", "10", "minutes", "ten minutes", "-1 day", "1 fortnight", "1 day ago", "99999999999 years", "+5 days",
		"0x10 minutes", "1_000 minutes", "73000 days", "73001 days", "105120000 minutes", "9223372036854775807 minutes",
		"5 MINUTES", "5 minutess", "5 s", "1\u00a0day", "٣ days"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDelta("first_fetch_delta", s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Param != "first_fetch_delta" || !strings.Contains(pe.Message, "e.g.") {
				t.Fatalf("ParseDelta(%q) error %v: want a *Error naming first_fetch_delta with an example", s, err)
			}
			return
		}
		if d <= 0 || d > 200*365*24*time.Hour {
			t.Fatalf("ParseDelta(%q) = %v: want 0 < d ≤ 200 years", s, d)
		}
		if d%time.Minute != 0 {
			t.Fatalf("ParseDelta(%q) = %v: not a whole number of minutes", s, d)
		}
		again, err := ParseDelta("first_fetch_delta", fmt.Sprintf("%d minutes", d/time.Minute))
		if err != nil || again != d {
			t.Fatalf("ParseDelta(%q) = %v, but %d minutes parse as %v, %v", s, d, d/time.Minute, again, err)
		}
	})
}

// FuzzDecode decodes arbitrary JSON params and checks that Decode never
// panics, that a configuration it accepts is within every documented bound,
// and that an error never quotes a secret param's value (unless the same
// text was also the value of a non-secret param, which the dispatcher's
// redaction then covers).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"base_url":"https://manage.office.com/api/v1.0/","credentials_auth_id":{"identifier":"","password":"app"},"credentials_enc_key":{"password":"s3cr3t-value"},"timeout":"15"}`,
		`{"credentials_enc_key":{"password":["SuperSecretValue123"]}}`,
		`{"credentials_enc_key":"plain-secret-value","enc_key":"legacy-secret"}`,
		`{"timeout":"9999999999"}`, `{"timeout":1e18}`, `{"timeout":"15.0"}`, `{"timeout":-1}`, `{"timeout":true}`,
		`{"max_blob_mb":"4096"}`, `{"max_blob_mb":"4097"}`, `{"download_concurrency":"64"}`, `{"max_fetch":10000}`,
		`{"requests_per_minute":"9223372036854775807"}`,
		`{"base_url":"http://127.0.0.1:1/api"}`, `{"base_url":"http://[::1]/"}`, `{"base_url":"https://x?y#z"}`, `{"base_url":"https://"}`,
		`{"content_types_to_fetch":"Audit.General, DLP.All"}`, `{"content_types_to_fetch":["a",1,null]}`,
		`{"self_deployed":"yes"}`, `{"insecure":"1","proxy":0}`, `{"private_key":{"a":"b"}}`,
		`{"credentials_refresh_token":{"identifier":"x","password":{"nested":"TopSecret42"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in map[string]any
		if json.Unmarshal(raw, &in) != nil {
			return
		}
		p, err := Decode(in)
		if err != nil {
			msg := err.Error()
			for _, s := range secretValues(in) {
				if len(strings.TrimSpace(s)) >= 6 && strings.Contains(msg, s) && !echoedByOther(in, s) {
					t.Fatalf("Decode error %q quotes the secret %q", msg, s)
				}
			}
			return
		}
		if p.BaseURL == nil || !strings.HasSuffix(p.BaseURL.Path, "/") || p.BaseURL.RawQuery != "" || p.BaseURL.Fragment != "" {
			t.Fatalf("BaseURL = %v", p.BaseURL)
		}
		if p.BaseURL.Scheme != "https" && !(p.BaseURL.Scheme == "http" && IsLoopback(p.BaseURL.Hostname())) {
			t.Fatalf("BaseURL %v is neither https nor http to loopback", p.BaseURL)
		}
		if p.Timeout <= 0 {
			t.Fatalf("Timeout = %v (from %v): want > 0", p.Timeout, in["timeout"])
		}
		if p.DownloadConcurrency < 1 || p.DownloadConcurrency > activity.MaxConcurrency {
			t.Fatalf("DownloadConcurrency = %d", p.DownloadConcurrency)
		}
		if p.MaxFetch < 1 || p.MaxFetch > MaxMaxFetch {
			t.Fatalf("MaxFetch = %d", p.MaxFetch)
		}
		if p.MaxBlobBytes < 1<<20 || p.MaxBlobBytes > 4096<<20 {
			t.Fatalf("MaxBlobBytes = %d", p.MaxBlobBytes)
		}
		if p.RequestsPerMinute < 1 {
			t.Fatalf("RequestsPerMinute = %d", p.RequestsPerMinute)
		}
		have := strings.Join(p.Secrets(), "\x00")
		for _, s := range []string{p.ClientSecret, p.PrivateKey, p.AuthCode, p.CertificateThumbprint} {
			if strings.TrimSpace(s) != "" && !strings.Contains(have, s) {
				t.Fatalf("Secrets() misses %q", s)
			}
		}
	})
}

// secretValues are the strings under secret param names, found
// independently of the code under test.
func secretValues(in map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			out = append(out, t)
		case map[string]any:
			for k, e := range t {
				if k != "identifier" {
					walk(e)
				}
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	for _, name := range []string{"credentials_enc_key", "enc_key", "credentials_certificate_thumbprint", "certificate_thumbprint",
		"private_key", "credentials_auth_code", "auth_code", "credentials_refresh_token", "refresh_token"} {
		walk(in[name])
	}
	return out
}

// echoedByOther reports whether s is part of a non-secret param's value or
// of a param name (an error may quote those).
func echoedByOther(in map[string]any, s string) bool {
	secret := map[string]bool{"credentials_enc_key": true, "enc_key": true, "credentials_certificate_thumbprint": true, "certificate_thumbprint": true,
		"private_key": true, "credentials_auth_code": true, "auth_code": true, "credentials_refresh_token": true, "refresh_token": true}
	for k, v := range in {
		if strings.Contains(k, s) || strings.Contains(fmt.Sprint(v), s) && !secret[k] {
			return true
		}
	}
	return strings.Contains("invalid parameter the instance parameters could not be read: wrong type of value for must be a positive integer, e.g. is above the maximum of is not a URL; expected e.g. https://manage.office.com/api/v1.0/ must use https (http is accepted only for a loopback address, for tests) must be an https URL, e.g. (expected true or false) (expected a whole number) (expected text) (expected a list, or text separated by commas) (expected text, or {\"identifier\": \"\", \"password\": \"…\"}) is more than the API keeps: give at most 7 days (content older than 7 days cannot be listed)", s)
}

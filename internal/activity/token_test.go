package activity

import (
	"encoding/base64"
	"testing"
)

func TestTenantFromToken(t *testing.T) {
	payload := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases := map[string]struct {
		tok  string
		want string
		ok   bool
	}{
		"jwt":        {"e30." + payload(`{"tid":"t-1","aud":"x"}`) + ".sig", "t-1", true},
		"padded":     {"e30." + base64.URLEncoding.EncodeToString([]byte(`{"tid":"t-22"}`)) + ".sig", "t-22", true},
		"no tid":     {"e30." + payload(`{"aud":"x"}`) + ".sig", "", false},
		"not jwt":    {"opaque-token", "", false},
		"bad base64": {"e30.***.sig", "", false},
		"not json":   {"e30." + payload("nope") + ".sig", "", false},
	}
	for name, c := range cases {
		if got, ok := TenantFromToken(c.tok); got != c.want || ok != c.ok {
			t.Errorf("%s: got %q %v", name, got, ok)
		}
	}
}

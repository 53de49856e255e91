package httpclient

import (
	"net/url"
	"testing"
)

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Manage.Office.com/api/v1.0/": "https://manage.office.com:443",
		"https://manage.office.com:443/x":     "https://manage.office.com:443",
		"http://manage.office.com/x":          "http://manage.office.com:80",
		"https://manage.office.com:8443/":     "https://manage.office.com:8443",
		"https://[::1]:9/":                    "https://[::1]:9",
	} {
		u, _ := url.Parse(in)
		if got := Origin(u); got != want {
			t.Errorf("Origin(%s) = %s, want %s", in, got, want)
		}
	}
}

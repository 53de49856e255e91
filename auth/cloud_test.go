package auth_test

import (
	"net/url"
	"testing"

	"github.com/secops-go/ms-management-activity/auth"
)

func TestCloudFor(t *testing.T) {
	cases := []struct {
		base, authority, resource string
		want                      auth.Cloud
	}{
		{"https://manage.office.com/api/v1.0/", "", "", auth.Cloud{"https://login.microsoftonline.com", "https://manage.office.com"}},
		{"https://manage-gcc.office.com/api/v1.0/", "", "", auth.Cloud{"https://login.microsoftonline.com", "https://manage-gcc.office.com"}},
		{"https://manage.office365.us/api/v1.0/", "", "", auth.Cloud{"https://login.microsoftonline.us", "https://manage.office365.us"}},
		{"https://MANAGE.PROTECTION.APPS.MIL/api/v1.0/", "", "", auth.Cloud{"https://login.microsoftonline.us", "https://manage.protection.apps.mil"}},
		// Unknown or loopback hosts: the commercial cloud, never an error.
		{"http://127.0.0.1:8080/api/v1.0/", "", "", auth.Cloud{"https://login.microsoftonline.com", "https://manage.office.com"}},
		{"https://manage.example.net/api/v1.0/", "", "", auth.Cloud{"https://login.microsoftonline.com", "https://manage.office.com"}},
		// Overrides, in the forms users type.
		{"https://127.0.0.1:9/api/v1.0/", "https://127.0.0.1:9", "", auth.Cloud{"https://127.0.0.1:9", "https://manage.office.com"}},
		{"https://manage.office.com/api/v1.0/", "login.chinacloudapi.cn/", "manage.protection.partner.outlook.cn/", auth.Cloud{"https://login.chinacloudapi.cn", "https://manage.protection.partner.outlook.cn"}},
		{"https://manage-gcc.office.com/api/v1.0/", " https://login.microsoftonline.com/some-tenant/ ", "https://manage.office.com/", auth.Cloud{"https://login.microsoftonline.com", "https://manage.office.com"}},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.base)
		if got := auth.CloudFor(u, c.authority, c.resource); got != c.want {
			t.Errorf("CloudFor(%s, %q, %q) = %+v, want %+v", c.base, c.authority, c.resource, got, c.want)
		}
	}
	if got := auth.CloudFor(nil, "", ""); got.AuthorityHost != auth.DefaultAuthorityHost {
		t.Errorf("nil base: %+v", got)
	}
}

func TestAuthorizeURL(t *testing.T) {
	got := auth.AuthorizeURL(auth.Cloud{"https://login.microsoftonline.us", "https://manage.office365.us"}, "tenant-1", "cid", "https://localhost/cb?x=1")
	want := "https://login.microsoftonline.us/tenant-1/oauth2/v2.0/authorize?client_id=cid&redirect_uri=https%3A%2F%2Flocalhost%2Fcb%3Fx%3D1&response_type=code&scope=offline_access%20https%3A%2F%2Fmanage.office365.us%2F.default"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil || u.Query().Get("scope") != "offline_access https://manage.office365.us/.default" || u.Query().Get("redirect_uri") != "https://localhost/cb?x=1" {
		t.Fatalf("does not parse back: %v %v", u, err)
	}
}

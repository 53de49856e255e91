package auth

import (
	"net/url"
	"strings"
)

// Cloud is where tokens for one Management Activity API deployment come
// from: the Entra ID login host and the token audience.
type Cloud struct {
	// AuthorityHost is the login host as a URL without a path, e.g.
	// "https://login.microsoftonline.com".
	AuthorityHost string
	// Resource is the token audience without a trailing slash, e.g.
	// "https://manage.office.com"; the v2 scope is Resource + "/.default".
	Resource string
}

// Default login host and resource: the commercial cloud.
const (
	DefaultAuthorityHost = "https://login.microsoftonline.com"
	DefaultResource      = "https://manage.office.com"
)

// clouds maps the API hosts to their login host (docs/api-facts.md, Clouds).
// GCC keeps the commercial login host; its audience follows its API host,
// as most peers do (the resource_url override covers the disputed cases).
var clouds = map[string]Cloud{
	"manage.office.com":          {DefaultAuthorityHost, "https://manage.office.com"},
	"manage-gcc.office.com":      {DefaultAuthorityHost, "https://manage-gcc.office.com"},
	"manage.office365.us":        {"https://login.microsoftonline.us", "https://manage.office365.us"},
	"manage.protection.apps.mil": {"https://login.microsoftonline.us", "https://manage.protection.apps.mil"},
}

// CloudFor derives the login host and resource from the API base URL, with
// the authority_url and resource_url overrides taking precedence. An unknown
// or loopback API host (the emulator) falls back to the commercial cloud; it
// is never an error, so a misconfiguration surfaces as the identity
// provider's own answer rather than a guess of ours.
func CloudFor(baseURL *url.URL, authorityOverride, resourceOverride string) Cloud {
	c := Cloud{DefaultAuthorityHost, DefaultResource}
	if baseURL != nil {
		if known, ok := clouds[strings.ToLower(baseURL.Hostname())]; ok {
			c = known
		}
	}
	if a := normalizeHostURL(authorityOverride); a != "" {
		c.AuthorityHost = a
	}
	if r := strings.TrimRight(strings.TrimSpace(resourceOverride), "/"); r != "" {
		if !strings.Contains(r, "://") {
			r = "https://" + r
		}
		c.Resource = r
	}
	return c
}

// normalizeHostURL turns "login.microsoftonline.us", "https://host/" or
// "https://host/some-tenant" into "https://host": the tenant always comes
// from the "Token or Tenant ID" parameter.
func normalizeHostURL(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return strings.TrimRight(s, "/")
	}
	return u.Scheme + "://" + u.Host
}

// knownAuthorityHosts are the login hosts MSAL trusts; for any other host
// (the emulator) instance discovery must be off, or MSAL would ask
// login.microsoftonline.com about it over the network.
var knownAuthorityHosts = map[string]bool{
	"login.microsoftonline.com": true, "login.microsoft.com": true, "login.windows.net": true,
	"sts.windows.net": true, "login.microsoftonline.us": true, "login-us.microsoftonline.com": true,
	"login.usgovcloudapi.net": true, "login.partner.microsoftonline.cn": true,
	"login.chinacloudapi.cn": true, "login.microsoftonline.de": true,
}

// AuthorizeURL is the v2 authorize endpoint for the authorization-code flow,
// built locally: MSAL's AuthCodeURL would first fetch the tenant's OpenID
// configuration over the network.
func AuthorizeURL(c Cloud, tenant, clientID, redirectURI string) string {
	q := url.Values{}
	q.Set("response_type", "code")
	q.Set("client_id", clientID)
	q.Set("redirect_uri", redirectURI)
	q.Set("scope", "offline_access "+c.Resource+"/.default")
	// Spaces as %20, as in the reference's URL: a "+" in a scope is easy
	// to misread when a user copies the link by hand.
	return c.AuthorityHost + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/authorize?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

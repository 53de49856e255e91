package commands

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/secops-go/ms-management-activity/auth"
	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/params"
)

// generateLoginURL prints the reference's "Authorization instructions" with
// the v2 authorize URL of the configured cloud, built locally (no network).
// It asks for the Office 365 Management API's own scope, where the
// reference asked for Azure Resource Manager's by mistake.
func generateLoginURL(_ context.Context, env *Env) (*Result, error) {
	p := env.Params
	if p.UseManagedIdentities {
		return nil, errors.New("Azure Managed Identities need no sign-in: the login URL is only for a self-deployed application using the authorization code flow.")
	}
	if !p.SelfDeployed {
		return nil, &params.Error{Message: "The login URL is only for a self-deployed application: select \"Use a self-deployed Azure application\" and fill in its Application ID, Tenant ID, Client Secret and redirect URI. The Cortex XSOAR application needs no sign-in here."}
	}
	var missing []string
	if p.ClientID == "" {
		missing = append(missing, "client_id (Application ID or Client ID)")
	}
	if p.TokenOrTenant == "" {
		missing = append(missing, "tenant_id (Token or Tenant ID)")
	}
	if p.RedirectURI == "" {
		missing = append(missing, "redirect_uri (Application redirect URI)")
	}
	if len(missing) > 0 {
		return nil, &params.Error{Message: "Please make sure you entered the Authorization configuration correctly. Missing: " + strings.Join(missing, ", ")}
	}
	if !looksLikeTenant(p.TokenOrTenant) {
		// Typically the Cortex XSOAR application's token left in the field
		// after switching to self-deployed mode: it must not end up in a
		// URL, and the sign-in would fail anyway. The value is not echoed.
		return nil, &params.Error{Message: "The Token or Tenant ID parameter does not look like a tenant ID: in self-deployed mode it must be the Entra ID tenant ID (a GUID such as 12345678-90ab-cdef-1234-567890abcdef) or a verified domain (such as contoso.onmicrosoft.com)."}
	}
	cloud := auth.CloudFor(p.BaseURL, p.AuthorityURL, p.ResourceURL)
	u := auth.AuthorizeURL(cloud, p.TokenOrTenant, p.ClientID, p.RedirectURI)
	md := "### Authorization instructions\n" +
		"1. Click on the [login URL](" + u + ") to sign in and grant Cortex XSOAR permissions for the Office 365 Management Activity API.\n" +
		"You will be automatically redirected to a link with the following structure:\n" +
		"```REDIRECT_URI?code=AUTH_CODE&session_state=SESSION_STATE```\n" +
		"2. Copy the `AUTH_CODE` (without the `code=` prefix, and the `session_state` parameter)\n" +
		"and paste it in your instance configuration under the **Authorization code** parameter.\n"
	return &Result{Entries: []xcontext.Entry{xcontext.Markdown(md)}}, nil
}

// tenantPattern is a tenant GUID or a domain name.
var tenantPattern = regexp.MustCompile(`^(?i:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$`)

func looksLikeTenant(s string) bool { return tenantPattern.MatchString(s) }

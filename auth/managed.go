package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"

	"github.com/secops-go/ms-management-activity/internal/httpclient"
)

// managedSource is Azure managed identities through MSAL. MSAL's managed
// identity cache lives only in the process, so the token and its expiry are
// kept in the record.
type managedSource struct {
	cfg      Config
	client   managedidentity.Client
	resource string
	red      redactor

	mu      sync.Mutex
	rec     record
	invalid bool
}

func newManagedIdentity(cfg Config, cloud Cloud) (TokenSource, error) {
	p := cfg.Params
	id := managedidentity.SystemAssigned()
	if p.ManagedIdentityID != "" {
		id = managedidentity.UserAssignedClientID(p.ManagedIdentityID)
	}
	// The endpoint comes from the environment (or is IMDS): requests go
	// there, and a redirect elsewhere is refused (the identity header and
	// the token are for that endpoint only).
	mi := *cfg.HTTP
	mi.CheckRedirect = httpclient.SameOrigin
	client, err := managedidentity.New(id, managedidentity.WithHTTPClient(&mi))
	if err != nil {
		return nil, errorf(newRedactor(p), "Error in Microsoft authorization with Azure Managed Identities: %v", err)
	}
	// The reference asks for "https://manage.office.com/" (with the slash);
	// both forms name the same audience.
	resource := cloud.Resource + "/"
	fp := fingerprint(flowManagedIdentity, p.ManagedIdentityID, resource)
	rec, found := loadRecord(cfg.Store, flowManagedIdentity, fp, cfg.Logger)
	if !found {
		rec.AccessToken, rec.ExpiresOn = migratedAccess(cfg.Store, cfg.Clock.Now())
	}
	cfg.Logger.Debug("auth flow selected", "flow", flowManagedIdentity, "user_assigned", p.ManagedIdentityID != "", "resource", resource, "cached", found)
	// The endpoint's own secret (App Service, Service Fabric, Cloud Shell):
	// MSAL sends it as a header, and an endpoint may echo it back.
	header := []string{cfg.Getenv("IDENTITY_HEADER"), cfg.Getenv("MSI_SECRET")}
	cfg.Secrets.Add(header...)
	return &managedSource{cfg: cfg, client: client, resource: resource, red: newRedactor(p, header...), rec: rec}, nil
}

func (s *managedSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	if tok, ok := s.rec.cachedAccess(now, s.cfg.Logger); ok && !s.invalid {
		saveRecord(s.cfg.Store, s.rec) // a no-op unless just migrated
		return tok, nil
	}
	// WithClaims only makes MSAL bypass its in-process cache here (v1.10.1
	// sends no claims to the managed identity endpoints): we come here when
	// our own clock says the token is stale or the API refused it.
	res, err := s.client.AcquireToken(ctx, s.resource, managedidentity.WithClaims(`{"access_token":{}}`))
	if err != nil {
		return "", s.wrap(err)
	}
	s.cfg.Secrets.Add(res.AccessToken)
	s.rec.AccessToken = res.AccessToken
	// The endpoint returns an absolute expires_on from its own clock.
	s.rec.ExpiresOn = res.ExpiresOn.Unix()
	s.invalid = false
	saveRecord(s.cfg.Store, s.rec)
	s.cfg.Logger.Debug("access token acquired", "flow", flowManagedIdentity, "expires_on", res.ExpiresOn.UTC().Format(time.RFC3339))
	return res.AccessToken, nil
}

func (s *managedSource) Invalidate() {
	s.mu.Lock()
	s.invalid = true
	s.mu.Unlock()
}

func (s *managedSource) wrap(err error) error {
	var ae *authError
	if errors.As(err, &ae) {
		return err
	}
	// MSAL's message, not the request dump CallErr.Verbose would add;
	// redacted before it is cut.
	red := s.red.add(s.rec.AccessToken)
	return &authError{msg: red.clean("Error in Microsoft authorization with Azure Managed Identities: " + red.cleanCut(err.Error(), 500))}
}

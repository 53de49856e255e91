package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/redact"
	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/internal/state"
	"github.com/secops-go/ms-management-activity/params"
)

// Config is what New needs to build the token source of the configured flow.
type Config struct {
	Params *params.Params
	// Store is the integrationContext: the token cache lives there between
	// runs.
	Store *state.Store
	// HTTP carries every request to the identity provider, the managed
	// identity endpoint and the oproxy broker (nil: http.DefaultClient).
	HTTP   *http.Client
	Clock  clock.Clock  // nil: the wall clock
	Logger *slog.Logger // nil: discard
	// Secrets, if set, is told every token this package obtains or reads
	// from the store, so the run's logs and messages can redact them.
	Secrets interface{ Add(secrets ...string) }
	// Getenv reads the environment MSAL's managed identity flow reads
	// (IDENTITY_HEADER is a secret of the run; nil: os.Getenv).
	Getenv func(string) string
}

// Margin is how long before its expiry an access token is treated as
// expired, so that a token never expires between being handed out and being
// presented to the API. MSAL applies the same five minutes to its own cache.
const Margin = 5 * time.Minute

// RecordKey is the integrationContext key of the token cache: the one
// value of a command's output that holds tokens on purpose.
const RecordKey = "auth"

// Store keys. recordKey holds this package's state; the legacy keys are the
// reference integration's, read once for migration and then removed.
const (
	recordKey          = RecordKey
	legacyAccessToken  = "access_token"
	legacyValidUntil   = "valid_until"
	legacyRefreshToken = "current_refresh_token"
	legacyNextRequest  = "next_request_time"
	legacyDelayCounter = "delay_request_counter"
)

// Flow names, stored in the record and shown in debug logs.
const (
	flowClientCredentials = "client_credentials"
	flowAuthCode          = "authorization_code"
	flowManagedIdentity   = "managed_identity"
	flowOproxy            = "oproxy"
)

// Misconfiguration messages, worded as the reference integration's where it
// has one: params.Error, so the command line says to fix the params file.
var (
	errNoKey         = &params.Error{Message: "Key must be provided. For further information see https://xsoar.pan.dev/docs/reference/articles/microsoft-integrations---authentication"}
	errNoKeyOrCert   = &params.Error{Message: "Key or Certificate Thumbprint and Private Key must be provided."}
	errNoClientID    = &params.Error{Message: "Application ID or Client ID must be provided."}
	errNoTenant      = &params.Error{Message: "Token or Tenant ID must be provided: in self-deployed mode it is the Entra ID (Azure AD) tenant ID of the application."}
	errNoToken       = &params.Error{Message: "Token or Tenant ID must be provided: it is the Token shown by the Cortex XSOAR application when you granted it access."}
	errMalformedCode = &params.Error{Message: `Malformed auth_code parameter: Please copy the auth code from the redirected uri without any additional info and without the "session_state" query parameter.`}
	errNoRedirectURI = &params.Error{Message: "in the self_deployed authentication flow the Authorization code and the Application redirect URI cannot be empty."}
	errNeedLogin     = &params.Error{Message: "The Application redirect URI is set but the Authorization code is empty: run the ***" + spec.CmdGenerateLoginURL + "*** command, sign in, and paste the code into the Authorization code parameter. To use the client credentials flow instead (an application permission), leave the Application redirect URI empty."}
)

// resetHint is appended, as the reference does, when the identity provider's
// error codes mean the stored grant is no longer usable.
const resetHint = "\nYou can run the ***" + spec.CmdAuthReset + "*** command to reset the authentication process."

// resetCodes are the Entra ID error codes that call for resetHint (expired
// or redeemed code, revoked or expired refresh token, ...).
var resetCodes = map[int]bool{50173: true, 700082: true, 70008: true, 54005: true, 7000222: true}

// New returns the token source of the flow the params select. It validates
// the configuration but makes no network call; the first Token call does.
//
// Selection, as the reference integration wires its params:
//   - use_managed_identities: Azure managed identity (system-assigned, or
//     user-assigned by managed_identities_client_id);
//   - not self_deployed: the Cortex XSOAR application, through its broker;
//   - self_deployed with an authorization code or a redirect URI: the
//     delegated authorization-code flow, then refresh tokens;
//   - self_deployed otherwise: client credentials.
//
// Self-deployed flows authenticate with the certificate when a thumbprint
// and a private key are set, else with the client secret.
func New(ctx context.Context, cfg Config) (TokenSource, error) {
	if cfg.Params == nil {
		return nil, errors.New("auth: no params")
	}
	if cfg.Store == nil {
		cfg.Store = state.New(nil)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = discardSecrets{}
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	// Tokens already stored are secrets of this run too.
	access, _, refresh := legacyTokens(cfg.Store)
	var stored record
	cfg.Store.Decode(recordKey, &stored)
	cfg.Secrets.Add(access, refresh, stored.AccessToken, stored.RefreshToken)
	cfg.Secrets.Add(cacheSecrets(stored.MSALCache)...)

	p := cfg.Params
	cloud := CloudFor(p.BaseURL, p.AuthorityURL, p.ResourceURL)
	switch {
	case p.UseManagedIdentities:
		return newManagedIdentity(cfg, cloud)
	case !p.SelfDeployed:
		return newOproxy(cfg)
	}
	return newConfidential(ctx, cfg, cloud)
}

type discardSecrets struct{}

func (discardSecrets) Add(...string) {}

// record is this package's persisted state, under recordKey.
type record struct {
	Flow string `json:"flow"`
	// Fingerprint is a hash of the identity configuration (flow, hosts,
	// client ID, tenant, secret, key...): a change of any of them discards
	// the stored tokens. It never contains a secret in clear.
	Fingerprint string `json:"fingerprint"`
	// MSALCache is MSAL's serialised token cache (confidential flows).
	MSALCache string `json:"msal_cache,omitempty"`
	// Account is the MSAL home account ID of the signed-in user (auth code).
	Account string `json:"account,omitempty"`
	// RedeemedCode is the hash of the last authorization code redeemed, so
	// a code is never sent twice.
	RedeemedCode string `json:"redeemed_code,omitempty"`
	// AccessToken is kept here by the flows MSAL cannot persist (managed
	// identity, oproxy).
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// ExpiresOn is the access token's expiry, Unix seconds, on our clock.
	ExpiresOn int64 `json:"expires_on,omitempty"`
	// NextRequest and Failures are the oproxy back-off.
	NextRequest int64 `json:"next_request_time,omitempty"`
	Failures    int   `json:"failures,omitempty"`
}

// validAt reports whether a token expiring at expiresOn (Unix seconds, on our
// clock) may still be handed out at now, Margin included. It is the one
// expiry check of every flow and of the migration of the reference's cache.
func validAt(expiresOn int64, now time.Time) bool {
	return expiresOn > 0 && now.Add(Margin).Unix() < expiresOn
}

// cachedAccess returns the stored access token while it is fresh (the flows
// that keep the token in the record themselves: managed identity, oproxy).
// A stored token that is not a JWT with a tenant (tid) claim cannot have
// come from Entra ID and would fail every API call without a new token
// ever being asked for: it is discarded with a warning.
func (r *record) cachedAccess(now time.Time, log *slog.Logger) (string, bool) {
	if r.AccessToken == "" || !validAt(r.ExpiresOn, now) {
		return "", false
	}
	if _, ok := activity.TenantFromToken(r.AccessToken); !ok {
		log.Warn("the access token stored in the integration context has no tenant (tid) claim, so it cannot be used; discarding it and requesting a new one")
		r.AccessToken, r.ExpiresOn = "", 0
		return "", false
	}
	return r.AccessToken, true
}

// loadRecord returns the stored record if it belongs to this configuration,
// else a fresh one (dropping a stale cache).
func loadRecord(s *state.Store, flow, fingerprint string, log *slog.Logger) (rec record, found bool) {
	var r record
	if s.Decode(recordKey, &r) {
		if r.Flow == flow && r.Fingerprint == fingerprint {
			return r, true
		}
		log.Info("stored tokens belong to another configuration; discarding them", "stored_flow", r.Flow, "flow", flow)
	}
	return record{Flow: flow, Fingerprint: fingerprint}, false
}

// saveRecord stores rec if it differs from what is stored, so that a run
// that only read the cache leaves integrationContext unchanged. The first
// save also drops the reference's legacy keys, now migrated.
func saveRecord(s *state.Store, rec record) {
	var old record
	if s.Decode(recordKey, &old) && old == rec {
		return
	}
	s.Set(recordKey, rec)
	for _, k := range []string{legacyAccessToken, legacyValidUntil, legacyRefreshToken, legacyNextRequest, legacyDelayCounter} {
		s.Delete(k)
	}
}

// fingerprint hashes the identity configuration. Each part is hashed
// separately first, so that no two configurations collide by concatenation.
func fingerprint(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("ms-management-activity/auth/v1"))
	for _, p := range parts {
		ph := sha256.Sum256([]byte(p))
		h.Write(ph[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func hashString(s string) string {
	h := sha256.Sum256([]byte("code:" + s))
	return hex.EncodeToString(h[:16])
}

// redactor removes secret values from messages that embed text we did not
// write (identity provider and broker answers), as a second line of defence.
type redactor []string

func newRedactor(p *params.Params, extra ...string) redactor {
	return redactor(p.Secrets()).add(extra...)
}

func (r redactor) add(secrets ...string) redactor {
	for _, s := range secrets {
		if strings.TrimSpace(s) != "" {
			r = append(r, s)
		}
	}
	return r
}

func (r redactor) clean(s string) string {
	set := &redact.Set{}
	set.Add(r...)
	return set.String(s)
}

// cleanCut redacts s, then cuts it to max bytes: in that order, so that a
// secret across the cut cannot leave its first characters behind.
func (r redactor) cleanCut(s string, max int) string {
	s = r.clean(s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return s
}

// authError is an authentication failure; its message is already redacted.
// transient marks failures worth one more try: the identity provider
// answered 5xx or 429, or could not be reached.
type authError struct {
	msg       string
	transient bool
}

func (e *authError) Error() string { return e.msg }

func errorf(r redactor, format string, args ...any) error {
	return &authError{msg: r.clean(fmt.Sprintf(format, args...))}
}

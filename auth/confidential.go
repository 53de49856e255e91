package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/secops-go/ms-management-activity/internal/httpclient"

	"github.com/secops-go/ms-management-activity/internal/spec"
	"github.com/secops-go/ms-management-activity/params"
)

// confidentialSource is the self-deployed application: client credentials
// (secret or certificate) or the delegated authorization-code flow, through
// MSAL, with MSAL's cache persisted in the record.
type confidentialSource struct {
	cfg         Config
	flow        string
	client      confidential.Client
	scopes      []string
	blob        *cacheBlob
	red         redactor
	authCode    string
	redirectURI string

	mu      sync.Mutex
	rec     record
	memo    string // the token this process last obtained
	invalid bool
}

func newConfidential(_ context.Context, cfg Config, cloud Cloud) (TokenSource, error) {
	p := cfg.Params
	if p.ClientID == "" {
		return nil, errNoClientID
	}
	tenant := p.TokenOrTenant
	if tenant == "" {
		return nil, errNoTenant
	}
	useCert := p.CertificateThumbprint != "" && strings.TrimSpace(p.PrivateKey) != ""
	if !useCert && p.ClientSecret == "" {
		return nil, errNoKeyOrCert
	}
	flow := flowClientCredentials
	if p.AuthCode != "" || p.RedirectURI != "" {
		flow = flowAuthCode
		if p.RedirectURI == "" {
			return nil, errNoRedirectURI
		}
	}
	authority, discovery, err := authorityFor(cloud, tenant)
	if err != nil {
		return nil, err
	}

	var cred confidential.Credential
	secretPart := p.ClientSecret
	if useCert {
		// With a certificate configured the secret is not used: it must
		// not keep the cache alive either.
		secretPart = ""
		cred, err = certCredential(p.CertificateThumbprint, p.PrivateKey)
	} else {
		cred, err = confidential.NewCredFromSecret(p.ClientSecret)
	}
	if err != nil {
		return nil, err
	}

	fp := fingerprint(flow, cloud.AuthorityHost, strings.ToLower(tenant), p.ClientID, cloud.Resource,
		secretPart, thumbprintOrEmpty(useCert, p.CertificateThumbprint), keyOrEmpty(useCert, p.PrivateKey))
	rec, found := loadRecord(cfg.Store, flow, fp, cfg.Logger)
	if !found && flow == flowAuthCode {
		migrateRefreshToken(cfg.Store, &rec, cloud, tenant, p.ClientID)
		if rec.Account != "" && p.AuthCode != "" {
			// The reference redeemed this code already; sending it again
			// would fail with "code already redeemed".
			rec.RedeemedCode = hashString(p.AuthCode)
		}
	}
	if flow == flowAuthCode && p.AuthCode == "" && rec.Account == "" {
		return nil, errNeedLogin
	}

	s := &confidentialSource{
		cfg: cfg, flow: flow, rec: rec,
		scopes:      []string{cloud.Resource + "/.default"},
		blob:        &cacheBlob{data: []byte(rec.MSALCache), secrets: cfg.Secrets},
		red:         newRedactor(p),
		authCode:    p.AuthCode,
		redirectURI: p.RedirectURI,
	}
	// The client secret, certificate assertion, code and refresh token go
	// only to the authority's origin: a discovery document or a redirect
	// naming another one is refused.
	s.client, err = confidential.New(authority, p.ClientID, cred,
		confidential.WithCache(s.blob),
		confidential.WithHTTPClient(httpclient.Restrict(cfg.HTTP, cloud.AuthorityHost)),
		confidential.WithInstanceDiscovery(discovery))
	if err != nil {
		return nil, errorf(s.red, "The authentication client could not be created for authority %s: %v", authority, err)
	}
	cfg.Logger.Debug("auth flow selected", "flow", flow, "authority", authority, "resource", cloud.Resource, "certificate", useCert, "cached", found)
	return s, nil
}

// authorityFor returns MSAL's authority URL and whether instance discovery
// may run (only for Microsoft's own hosts: for any other host it would call
// login.microsoftonline.com).
func authorityFor(c Cloud, tenant string) (authority string, discovery bool, err error) {
	u, perr := url.Parse(c.AuthorityHost)
	if perr != nil || u.Scheme != "https" || u.Host == "" {
		return "", false, &params.Error{Message: fmt.Sprintf("The Authority URL override %q must be an https URL, e.g. https://login.microsoftonline.us.", c.AuthorityHost)}
	}
	return c.AuthorityHost + "/" + url.PathEscape(tenant), knownAuthorityHosts[strings.ToLower(u.Hostname())], nil
}

func thumbprintOrEmpty(use bool, t string) string {
	if !use {
		return ""
	}
	return normalizeThumbprint(t)
}

func keyOrEmpty(use bool, k string) string {
	if !use {
		return ""
	}
	return strings.TrimSpace(k)
}

// Token returns the cached access token while it is fresh on our clock, else
// asks MSAL for a new one (a refresh-token grant for the delegated flow).
func (s *confidentialSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	fresh := !s.invalid && validAt(s.rec.ExpiresOn, now)
	if fresh && s.memo != "" {
		// Parallel downloads ask for every request: skip MSAL's cache
		// round trip (a JSON decode of the blob) while the token is fresh.
		return s.memo, nil
	}
	if !fresh {
		// MSAL judges expiry by the wall clock and has no "force refresh"
		// for these grants, so drop its cached access tokens: it then goes
		// to the network (keeping the refresh token of the delegated flow).
		s.blob.dropAccessTokens()
	}
	res, err := s.acquire(ctx)
	// A token endpoint hiccup (AADSTS90033 "temporarily unavailable", 503,
	// a dropped connection) usually heals in seconds; an auth code is
	// never re-sent, since a redeemed code cannot be redeemed again.
	for attempt := 1; attempt < tokenAttempts && isTransient(err) && !s.redeeming(); attempt++ {
		wait := time.Duration(attempt) * time.Second
		s.cfg.Logger.Debug("token request failed, retrying", "flow", s.flow, "attempt", attempt, "wait", wait, "error", err)
		if s.cfg.Clock.Sleep(ctx, wait) != nil {
			break
		}
		res, err = s.acquire(ctx)
	}
	s.rec.MSALCache = s.blob.String()
	if err != nil {
		saveRecord(s.cfg.Store, s.rec)
		return "", err
	}
	if !fresh || res.Metadata.TokenSource != confidential.TokenSourceCache {
		// MSAL computed ExpiresOn from expires_in against the wall clock;
		// keep the same lifetime on our clock.
		s.rec.ExpiresOn = now.Add(time.Until(res.ExpiresOn)).Unix()
		s.cfg.Logger.Debug("access token acquired", "flow", s.flow, "expires_in", time.Until(res.ExpiresOn).Round(time.Second).String())
	}
	s.cfg.Secrets.Add(res.AccessToken)
	s.memo = res.AccessToken
	s.invalid = false
	saveRecord(s.cfg.Store, s.rec)
	return res.AccessToken, nil
}

// Invalidate makes the next Token call fetch a new access token.
func (s *confidentialSource) Invalidate() {
	s.mu.Lock()
	s.invalid = true
	s.mu.Unlock()
}

func (s *confidentialSource) acquire(ctx context.Context) (confidential.AuthResult, error) {
	if s.flow == flowClientCredentials {
		res, err := s.client.AcquireTokenByCredential(ctx, s.scopes)
		return res, s.wrap(err)
	}
	if s.authCode != "" && hashString(s.authCode) != s.rec.RedeemedCode {
		if malformedCode(s.authCode) {
			return confidential.AuthResult{}, errMalformedCode
		}
		res, err := s.client.AcquireTokenByAuthCode(ctx, s.authCode, s.redirectURI, s.scopes)
		if err != nil {
			return res, s.wrap(err)
		}
		// Remembered only on success: after a failure the user fixes the
		// cause and the same code may still be good (AAD codes last minutes).
		s.rec.RedeemedCode = hashString(s.authCode)
		s.rec.Account = res.Account.HomeAccountID
		return res, nil
	}
	if s.rec.Account == "" {
		return confidential.AuthResult{}, errNeedLogin
	}
	acct, err := s.client.Account(ctx, s.rec.Account)
	if err != nil || acct.HomeAccountID == "" {
		return confidential.AuthResult{}, errors.New("The signed-in account is no longer in the token cache: run the ***" + spec.CmdGenerateLoginURL + "*** command, sign in again, and paste the new code into the Authorization code parameter." + resetHint)
	}
	res, err := s.client.AcquireTokenSilent(ctx, s.scopes, confidential.WithSilentAccount(acct))
	if err == nil && res.Account.HomeAccountID != "" {
		s.rec.Account = res.Account.HomeAccountID // a migrated token gets its real ID
	}
	return res, s.wrap(err)
}

// malformedCode reports a pasted code that still carries the redirect URL's
// other parts.
func malformedCode(code string) bool {
	return strings.Contains(code, "session_state") || strings.HasPrefix(code, "code=") || strings.Contains(code, "&")
}

// wrap turns an MSAL error into the reference's "Error in Microsoft
// authorization" message, built from the identity provider's JSON answer
// only (never from the request, which carries the credentials).
func (s *confidentialSource) wrap(err error) error {
	if err == nil {
		return nil
	}
	var ae *authError
	if errors.As(err, &ae) {
		return err
	}
	// The tokens in MSAL's cache (the refresh token above all) were sent
	// with the request the provider may echo.
	red := s.red.add(cacheSecrets(s.blob.String())...)
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		var body []byte
		if ce.Resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(ce.Resp.Body, 64<<10))
		}
		pe := providerError(red, ce.Resp.StatusCode, body)
		if ae, ok := pe.(*authError); ok {
			ae.transient = ce.Resp.StatusCode >= 500 || ce.Resp.StatusCode == http.StatusTooManyRequests
		}
		return pe
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		e := errorf(red, "Error in Microsoft authorization: could not reach the identity provider (%s %s): %v", ue.Op, hostOf(ue.URL), ue.Err).(*authError)
		e.transient = transientTransport(ue.Err)
		return e
	}
	return errorf(red, "Error in Microsoft authorization: %v", err)
}

// transientTransport reports whether a failure to reach the token endpoint
// may heal within a command's run (worth the retries): a refused or reset
// connection or a timeout may; a certificate or TLS failure and a host name
// that does not resolve will not (retrying them only made the command
// wait 3 s longer before saying so).
func transientTransport(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	return !strings.Contains(err.Error(), "x509: ") && !strings.Contains(err.Error(), "tls: ")
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + u.Path
	}
	return "the token endpoint"
}

// providerError renders an OAuth error answer as the reference does:
// "Error in Microsoft authorization. Status: <code>, body: <error>: <description>",
// with the auth-reset hint for error codes that mean the grant is dead.
func providerError(red redactor, status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	text := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		text = e.Error
		if e.Description != "" {
			text += ": " + firstLine(e.Description)
		}
	} else {
		text = red.cleanCut(text, 300)
	}
	msg := fmt.Sprintf("Error in Microsoft authorization. Status: %d, body: %s", status, text)
	if len(e.Codes) > 0 {
		all := true
		for _, c := range e.Codes {
			all = all && resetCodes[c]
		}
		if all {
			msg += resetHint
		}
	}
	return &authError{msg: red.clean(msg)}
}

// firstLine keeps the first line of an AADSTS description: the rest is
// trace and correlation IDs.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// cacheBlob is MSAL's cache accessor: it holds the serialised cache in
// memory; the source copies it into the record after each acquisition.
type cacheBlob struct {
	mu   sync.Mutex
	data []byte
	// secrets is told the tokens of every cache MSAL exports.
	secrets interface{ Add(...string) }
}

// Replace loads the blob into MSAL's in-memory cache (an empty cache when
// there is none, so that a dropped token is really gone).
func (c *cacheBlob) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	data := c.data
	c.mu.Unlock()
	if len(data) == 0 {
		data = []byte("{}")
	}
	if err := u.Unmarshal(data); err != nil {
		// A corrupt stored cache costs one token request, not the run.
		return u.Unmarshal([]byte("{}"))
	}
	return nil
}

// Export saves MSAL's in-memory cache.
func (c *cacheBlob) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.data = data
	c.mu.Unlock()
	if c.secrets != nil {
		c.secrets.Add(cacheSecrets(string(data))...)
	}
	return nil
}

// cacheSecrets returns the tokens in a serialised MSAL cache (each entry's
// "secret"), so that the run redacts them wherever they are echoed.
func cacheSecrets(data string) []string {
	var c map[string]map[string]struct {
		Secret string `json:"secret"`
	}
	if json.Unmarshal([]byte(data), &c) != nil {
		return nil
	}
	var out []string
	for _, kind := range c {
		for _, e := range kind {
			if e.Secret != "" {
				out = append(out, e.Secret)
			}
		}
	}
	return out
}

func (c *cacheBlob) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.data)
}

// dropAccessTokens removes the cached access tokens and keeps the rest
// (refresh tokens, accounts). The blob is MSAL's "unified cache" JSON, a
// format shared by every MSAL library; should it ever not parse, the whole
// cache goes, which costs a token request (or a new sign-in), never a stale
// token.
func (c *cacheBlob) dropAccessTokens() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) == 0 {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(c.data, &m) != nil {
		c.data = nil
		return
	}
	if _, ok := m["AccessToken"]; !ok {
		return
	}
	delete(m, "AccessToken")
	out, err := json.Marshal(m)
	if err != nil {
		c.data = nil
		return
	}
	c.data = out
}

// tokenAttempts bounds token requests per Token call on transient failures.
const tokenAttempts = 3

// isTransient reports an authError marked transient.
func isTransient(err error) bool {
	var ae *authError
	return errors.As(err, &ae) && ae.transient
}

// redeeming reports whether the next acquisition would redeem the
// configured authorization code.
func (s *confidentialSource) redeeming() bool {
	return s.flow != flowClientCredentials && s.authCode != "" && hashString(s.authCode) != s.rec.RedeemedCode
}

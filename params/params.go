// Package params decodes and validates the instance configuration the engine
// sends in the envelope's "params" object, keyed by the parameter names of
// integration.yml (which keep the reference integration's names).
package params

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// Credential is a credentials-type (type 9) parameter. The secret is Password.
type Credential struct {
	Identifier string `mapstructure:"identifier"`
	Password   string `mapstructure:"password"`
}

// Defaults and limits of the parameters that have one. Those of the API
// client's own settings (publisher_identifier, download_concurrency,
// requests_per_minute, max_blob_mb) are package activity's: the client
// applies the same values when used on its own. integration.yml declares
// the same defaults for the engine; a test in commands checks they agree.
const (
	DefaultBaseURL        = "https://manage.office.com/api/v1.0/"
	DefaultTimeoutSeconds = 15
	MaxTimeoutSeconds     = 86400
	DefaultFirstFetch     = "10 minutes"
	// MaxFirstFetch is how far back the first fetch may start: the API
	// serves the last 7 days.
	MaxFirstFetch         = 7 * 24 * time.Hour
	DefaultMaxFetch       = 1000
	MaxMaxFetch           = 10000
	DefaultFetchOverlap   = "1 hour"
	DefaultSearchLateness = "24 hours"
	MaxMaxBlobMB          = 4096
	DefaultOproxyURL      = "https://oproxy.demisto.ninja/obtain-token"
	// DefaultIncidentType is the pack's incident type, the one its incoming
	// mapper maps (xsoar/embed uses this constant to name it).
	DefaultIncidentType = "Office 365 Audit Record"
)

// Raw mirrors integration.yml's parameters one to one, as the engine sends
// them. It is decoded weakly (booleans and numbers may arrive as strings,
// multi-selects as a list or a comma-separated string).
type Raw struct {
	BaseURL string `mapstructure:"base_url"`

	CredentialsAuthID            Credential `mapstructure:"credentials_auth_id"`
	CredentialsRefreshToken      Credential `mapstructure:"credentials_refresh_token"`
	CredentialsEncKey            Credential `mapstructure:"credentials_enc_key"`
	CredentialsCertThumbprint    Credential `mapstructure:"credentials_certificate_thumbprint"`
	CredentialsAuthCode          Credential `mapstructure:"credentials_auth_code"`
	ManagedIdentitiesClientIDCrd Credential `mapstructure:"managed_identities_client_id"`

	// Legacy hidden fields, used when the credentials_* one is empty.
	AuthID                string `mapstructure:"auth_id"`
	RefreshToken          string `mapstructure:"refresh_token"`
	EncKey                string `mapstructure:"enc_key"`
	CertificateThumbprint string `mapstructure:"certificate_thumbprint"`
	AuthCode              string `mapstructure:"auth_code"`

	PrivateKey           string `mapstructure:"private_key"`
	SelfDeployed         bool   `mapstructure:"self_deployed"`
	RedirectURI          string `mapstructure:"redirect_uri"`
	UseManagedIdentities bool   `mapstructure:"use_managed_identities"`
	Insecure             bool   `mapstructure:"insecure"`
	Proxy                bool   `mapstructure:"proxy"`

	FirstFetchDelta     string   `mapstructure:"first_fetch_delta"`
	Timeout             string   `mapstructure:"timeout"`
	ContentTypesToFetch []string `mapstructure:"content_types_to_fetch"`
	IsFetch             bool     `mapstructure:"isFetch"`
	IncidentType        string   `mapstructure:"incidentType"`
	RecordTypesFilter   string   `mapstructure:"record_types_filter"`
	WorkloadsFilter     string   `mapstructure:"workloads_filter"`
	OperationsFilter    string   `mapstructure:"operations_filter"`
	PublisherIdentifier string   `mapstructure:"publisher_identifier"`
	DownloadConcurrency string   `mapstructure:"download_concurrency"`
	MaxFetch            string   `mapstructure:"max_fetch"`
	FetchOverlap        string   `mapstructure:"fetch_overlap"`
	SearchLateness      string   `mapstructure:"search_lateness"`
	AuthorityURL        string   `mapstructure:"authority_url"`
	ResourceURL         string   `mapstructure:"resource_url"`
	RequestsPerMinute   string   `mapstructure:"requests_per_minute"`
	MaxBlobMB           string   `mapstructure:"max_blob_mb"`
}

// Params is the validated configuration commands use. Secrets are resolved
// from the credentials_* field or, when that is empty, its legacy field, as
// the reference integration does.
type Params struct {
	BaseURL *url.URL

	ClientID              string // "Application ID or Client ID"
	TokenOrTenant         string // "Token or Tenant ID": tenant ID when self-deployed, else the Cortex XSOAR app token
	ClientSecret          string // "Key or Client Secret" (the oproxy encryption key when not self-deployed)
	CertificateThumbprint string
	PrivateKey            string
	AuthCode              string
	RedirectURI           string
	SelfDeployed          bool
	UseManagedIdentities  bool
	ManagedIdentityID     string // user-assigned client ID; empty = system-assigned
	Insecure              bool
	Proxy                 bool

	Timeout             time.Duration
	ContentTypesToFetch []string
	IsFetch             bool
	IncidentType        string
	RecordTypesFilter   string
	WorkloadsFilter     string
	OperationsFilter    string
	PublisherIdentifier string
	DownloadConcurrency int
	MaxFetch            int
	RequestsPerMinute   int
	MaxBlobBytes        int64
	AuthorityURL        string
	ResourceURL         string

	// FirstFetchDelta, FetchOverlap and SearchLateness are kept raw; only
	// the commands that use them parse them (FirstFetch, Overlap,
	// Lateness), so a bad value fails only those commands.
	FirstFetchDelta string
	FetchOverlap    string
	SearchLateness  string

	raw Raw
}

// Secrets returns every secret value present in the params, for redaction.
func (p *Params) Secrets() []string {
	var out []string
	for _, s := range []string{p.ClientSecret, p.PrivateKey, p.AuthCode, p.CertificateThumbprint, p.TokenOrTenantSecret()} {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// TokenOrTenantSecret returns the "Token or Tenant ID" value when it is a
// secret (the Cortex XSOAR app refresh token); a tenant ID is not secret.
func (p *Params) TokenOrTenantSecret() string {
	if p.SelfDeployed || p.UseManagedIdentities {
		return ""
	}
	return p.TokenOrTenant
}

// Error is a parameter value that cannot be used: every configuration error
// is one, wherever it is found (here, package auth, a command), and stays
// one through wrapping (errors.As), so the command line can say to fix the
// params file whatever the wording. Param names the parameter at fault
// ("invalid parameter <Param>: <Message>"); without it, the message is said
// as it is (several parameters, or a wording of the reference's). The
// message never contains the value of a secret parameter.
type Error struct {
	Param   string
	Message string
}

func (e *Error) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return fmt.Sprintf("invalid parameter %s: %s", e.Param, e.Message)
}

// Decode decodes and validates the envelope's params object.
func Decode(in map[string]any) (*Params, error) {
	var raw Raw
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		WeaklyTypedInput: true,
		Result:           &raw,
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(credentialHook, commaListHook, boolHook),
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(in); err != nil {
		// mapstructure errors name the field and may quote its value; a
		// value could be a secret, so keep only the field names.
		return nil, &Error{Message: "the instance parameters could not be read: " + fieldsOf(err)}
	}
	return fromRaw(raw)
}

func fromRaw(raw Raw) (*Params, error) {
	p := &Params{raw: raw}
	p.ClientID = strings.TrimSpace(first(raw.CredentialsAuthID.Password, raw.AuthID))
	p.TokenOrTenant = strings.TrimSpace(first(raw.CredentialsRefreshToken.Password, raw.RefreshToken))
	p.ClientSecret = first(raw.CredentialsEncKey.Password, raw.EncKey)
	p.CertificateThumbprint = strings.TrimSpace(first(raw.CredentialsCertThumbprint.Password, raw.CertificateThumbprint))
	p.AuthCode = strings.TrimSpace(first(raw.CredentialsAuthCode.Password, raw.AuthCode))
	p.PrivateKey = raw.PrivateKey
	p.RedirectURI = strings.TrimSpace(raw.RedirectURI)
	p.UseManagedIdentities = raw.UseManagedIdentities
	p.ManagedIdentityID = strings.TrimSpace(raw.ManagedIdentitiesClientIDCrd.Password)
	// As the reference: managed identities imply the self-deployed wiring
	// (the "Token or Tenant ID" field is then a tenant ID).
	p.SelfDeployed = raw.SelfDeployed || raw.UseManagedIdentities
	p.Insecure = raw.Insecure
	p.Proxy = raw.Proxy
	p.IsFetch = raw.IsFetch
	p.IncidentType = strings.TrimSpace(raw.IncidentType)
	if p.IncidentType == "" {
		// No type would make the incidents Unclassified, which the pack's
		// mapper does not map.
		p.IncidentType = DefaultIncidentType
	}
	p.RecordTypesFilter = raw.RecordTypesFilter
	p.WorkloadsFilter = raw.WorkloadsFilter
	p.OperationsFilter = raw.OperationsFilter
	p.AuthorityURL = strings.TrimSpace(raw.AuthorityURL)
	p.ResourceURL = strings.TrimSpace(raw.ResourceURL)
	p.FirstFetchDelta = strings.TrimSpace(raw.FirstFetchDelta)
	if p.FirstFetchDelta == "" {
		p.FirstFetchDelta = DefaultFirstFetch
	}
	p.FetchOverlap = strings.TrimSpace(raw.FetchOverlap)
	if p.FetchOverlap == "" {
		p.FetchOverlap = DefaultFetchOverlap
	}
	p.SearchLateness = strings.TrimSpace(raw.SearchLateness)
	if p.SearchLateness == "" {
		p.SearchLateness = DefaultSearchLateness
	}
	p.PublisherIdentifier = strings.TrimSpace(raw.PublisherIdentifier)
	if p.PublisherIdentifier == "" {
		p.PublisherIdentifier = activity.DefaultPublisher
	}
	for _, ct := range raw.ContentTypesToFetch {
		if ct = strings.TrimSpace(ct); ct != "" {
			p.ContentTypesToFetch = append(p.ContentTypesToFetch, ct)
		}
	}

	base := strings.TrimSpace(raw.BaseURL)
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := ParseBaseURL(base)
	if err != nil {
		return nil, err
	}
	p.BaseURL = u

	// Bounded so that the duration cannot overflow (9999999999 s used to
	// wrap to a negative timeout, which the HTTP client treats as none).
	secs, err := PositiveInt("timeout", raw.Timeout, DefaultTimeoutSeconds, MaxTimeoutSeconds, strconv.Itoa(DefaultTimeoutSeconds))
	if err != nil {
		return nil, err
	}
	p.Timeout = time.Duration(secs) * time.Second
	if p.DownloadConcurrency, err = PositiveInt("download_concurrency", raw.DownloadConcurrency, activity.DefaultConcurrency, activity.MaxConcurrency, strconv.Itoa(activity.DefaultConcurrency)); err != nil {
		return nil, err
	}
	if p.MaxFetch, err = PositiveInt("max_fetch", raw.MaxFetch, DefaultMaxFetch, MaxMaxFetch, strconv.Itoa(DefaultMaxFetch)); err != nil {
		return nil, err
	}
	if p.RequestsPerMinute, err = PositiveInt("requests_per_minute", raw.RequestsPerMinute, activity.DefaultRequestsPerMinute, 0, strconv.Itoa(activity.DefaultRequestsPerMinute)); err != nil {
		return nil, err
	}
	mb, err := PositiveInt("max_blob_mb", raw.MaxBlobMB, activity.DefaultMaxBlobBytes>>20, MaxMaxBlobMB, strconv.Itoa(activity.DefaultMaxBlobBytes>>20))
	if err != nil {
		return nil, err
	}
	p.MaxBlobBytes = int64(mb) << 20
	return p, nil
}

// FirstFetch parses first_fetch_delta into a duration.
func (p *Params) FirstFetch() (time.Duration, error) {
	d, err := ParseDelta("first_fetch_delta", p.FirstFetchDelta)
	if err == nil && d > MaxFirstFetch {
		return 0, &Error{"first_fetch_delta", fmt.Sprintf("%q is more than the API keeps: give at most 7 days (content older than 7 days cannot be listed)", p.FirstFetchDelta)}
	}
	return d, err
}

// Filter is the record filter of record_types_filter, workloads_filter and
// operations_filter.
func (p *Params) Filter() (*activity.Filter, error) {
	f, err := activity.ParseFilter(p.RecordTypesFilter, p.WorkloadsFilter, p.OperationsFilter)
	var fe *activity.FilterError
	if errors.As(err, &fe) {
		return nil, &Error{fe.List, strings.TrimSuffix(fe.Err.Error(), ".")}
	}
	return f, err
}

// FetchContentTypes is content_types_to_fetch, each canonical (the API's
// spelling), without repeats; nil when the parameter is empty.
func (p *Params) FetchContentTypes() ([]string, error) {
	var out []string
	for _, raw := range p.ContentTypesToFetch {
		ct, ok := activity.CanonicalContentType(raw)
		if !ok {
			return nil, &Error{"content_types_to_fetch", fmt.Sprintf("%q is not a content type of the API; use %s", raw, strings.Join(activity.ContentTypes, ", "))}
		}
		if !slices.Contains(out, ct) {
			out = append(out, ct)
		}
	}
	return out, nil
}

// Overlap parses fetch_overlap into a duration.
func (p *Params) Overlap() (time.Duration, error) {
	return ParseDelta("fetch_overlap", p.FetchOverlap)
}

// Lateness parses search_lateness into a duration: how long after the end
// of a search's range its records may still become available.
func (p *Params) Lateness() (time.Duration, error) {
	return ParseDelta("search_lateness", p.SearchLateness)
}

// ParseBaseURL validates base_url: https, or http to a loopback address (for
// the emulator). The result always ends with "/".
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, &Error{"base_url", fmt.Sprintf("%q is not a URL; expected e.g. %s", s, DefaultBaseURL)}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return nil, &Error{"base_url", fmt.Sprintf("%q must use https (http is accepted only for a loopback address, for tests)", s)}
		}
	default:
		return nil, &Error{"base_url", fmt.Sprintf("%q must be an https URL, e.g. %s", s, DefaultBaseURL)}
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PositiveInt parses an integer parameter or argument: empty means def; max 0
// means unbounded. example is shown in the error message.
func PositiveInt(name, s string, def, max int, example string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		// Engines may send 15.0 for a number.
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int(f)) {
			n, err = int(f), nil
		}
	}
	if err != nil || n <= 0 {
		return 0, &Error{name, fmt.Sprintf("%q must be a positive integer, e.g. %s", s, example)}
	}
	if max > 0 && n > max {
		return 0, &Error{name, fmt.Sprintf("%d is above the maximum of %d", n, max)}
	}
	return n, nil
}

var units = map[string]time.Duration{
	"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour,
	"month": 30 * 24 * time.Hour, "year": 365 * 24 * time.Hour,
}

// ParseDelta parses "<number> <unit>" (minute, hour, day, week, month, year,
// singular or plural, case-insensitive), as CommonServerPython's
// parse_date_range does.
func ParseDelta(name, s string) (time.Duration, error) {
	fields := strings.Fields(s)
	bad := &Error{name, fmt.Sprintf("%q must be <number> <unit> with unit minute, hour, day, week, month or year, e.g. \"10 minutes\" or \"1 hour\"", s)}
	if len(fields) != 2 {
		return 0, bad
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= 0 {
		return 0, bad
	}
	unit := strings.TrimSuffix(strings.ToLower(fields[1]), "s")
	d, ok := units[unit]
	if !ok {
		return 0, bad
	}
	if n > int(200*365*24*time.Hour/d) {
		return 0, bad
	}
	return time.Duration(n) * d, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// credentialHook accepts a credentials parameter given as a plain string (the
// secret itself), as some engines and the command line send it.
func credentialHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(Credential{}) {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return map[string]any{"password": v}, nil
	case nil:
		return map[string]any{}, nil
	}
	return data, nil
}

// commaListHook accepts a multi-select given as "a,b" as well as ["a","b"].
func commaListHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	if s, ok := data.(string); ok {
		if strings.TrimSpace(s) == "" {
			return []string{}, nil
		}
		return strings.Split(s, ","), nil
	}
	return data, nil
}

// fieldsOf reduces a mapstructure error to the names of the fields at
// fault and the kind of value each expects (never the value: it could be a
// secret pasted into the wrong field).
func fieldsOf(err error) string {
	var names []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "'"); i >= 0 {
			if j := strings.Index(line[i+1:], "'"); j >= 0 {
				name := indexSuffix.ReplaceAllString(line[i+1:i+1+j], "")
				if kind := expectedKind(name); kind != "" {
					name += " (expected " + kind + ")"
				}
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	if len(names) == 0 {
		return "wrong type of value"
	}
	return "wrong type of value for " + strings.Join(names, ", ")
}

// indexSuffix is a list index in a mapstructure field name ("a[0]").
var indexSuffix = regexp.MustCompile(`\[[0-9]+\]`)

// expectedKind names, for a message, the kind of value the Raw field at
// path (mapstructure names joined by ".") takes.
func expectedKind(path string) string {
	t := reflect.TypeOf(Raw{})
	for _, seg := range strings.Split(path, ".") {
		if t.Kind() != reflect.Struct {
			return ""
		}
		found := false
		for i := range t.NumField() {
			f := t.Field(i)
			if strings.Split(f.Tag.Get("mapstructure"), ",")[0] == seg {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return ""
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.String:
		return "text"
	case reflect.Slice:
		return "a list, or text separated by commas"
	case reflect.Struct:
		return `text, or {"identifier": "", "password": "…"}`
	}
	return ""
}

// boolHook accepts the booleans engines and people write: true/false,
// yes/no, on/off, 1/0, in any case.
func boolHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Bool {
		return data, nil
	}
	s, ok := data.(string)
	if !ok {
		return data, nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1", "t", "y":
		return true, nil
	case "false", "no", "off", "0", "f", "n", "":
		return false, nil
	}
	return data, nil // mapstructure then reports the field
}

package auth

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secops-go/ms-management-activity/internal/httpclient"
	"github.com/secops-go/ms-management-activity/params"
)

// oproxyAppName is the Cortex XSOAR application this integration's tokens
// are brokered for.
const oproxyAppName = "ms-management-api"

// maxBackoffExponent caps the broker back-off at 2^6 = 64 s, as the
// reference's "moderate retry mechanism" does.
const maxBackoffExponent = 6

// maxBackoff is the longest broker back-off (2^maxBackoffExponent s).
const maxBackoff = (1 << maxBackoffExponent) * time.Second

// oproxySource is the Cortex XSOAR application: a broker holds the app
// registration and trades our encrypted refresh token for an access token.
// MSAL cannot do this, so it is a small HTTP client.
type oproxySource struct {
	cfg     Config
	brokerU string
	regID   string
	key     []byte
	token   string // the "Token" parameter: the first refresh token
	red     redactor

	mu      sync.Mutex
	rec     record
	invalid bool
}

func newOproxy(cfg Config) (TokenSource, error) {
	p := cfg.Params
	if p.ClientID == "" {
		return nil, errNoClientID
	}
	if p.ClientSecret == "" {
		return nil, errNoKey
	}
	if p.TokenOrTenant == "" {
		return nil, errNoToken
	}
	regID, broker := p.ClientID, params.DefaultOproxyURL
	// The reference's "<registration ID>@<broker URL>" form selects another
	// broker (a regional one, or the emulator).
	if i := strings.Index(p.ClientID, "@"); i >= 0 {
		regID, broker = p.ClientID[:i], strings.TrimSpace(p.ClientID[i+1:])
	}
	if err := checkBrokerURL(broker); err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(p.ClientSecret))
	if err != nil || (len(key) != 16 && len(key) != 24 && len(key) != 32) {
		return nil, &params.Error{Message: "The Key parameter is not a valid key of the Cortex XSOAR application: copy the Key exactly as the application showed it (base64 text)."}
	}
	fp := fingerprint(flowOproxy, broker, regID, p.ClientSecret, p.TokenOrTenant)
	rec, found := loadRecord(cfg.Store, flowOproxy, fp, cfg.Logger)
	if !found {
		_, _, rec.RefreshToken = legacyTokens(cfg.Store)
		rec.AccessToken, rec.ExpiresOn = migratedAccess(cfg.Store, cfg.Clock.Now())
	}
	cfg.Logger.Debug("auth flow selected", "flow", flowOproxy, "broker", broker, "cached", found)
	// The key-encrypted grant goes only to the broker's origin.
	cfg.HTTP = httpclient.Restrict(cfg.HTTP, broker)
	s := &oproxySource{cfg: cfg, brokerU: broker, regID: regID, key: key, token: p.TokenOrTenant, red: newRedactor(p), rec: rec}
	return s, nil
}

func checkBrokerURL(s string) error {
	u, err := url.Parse(s)
	if err == nil && u.Host != "" && (u.Scheme == "https" || (u.Scheme == "http" && params.IsLoopback(u.Hostname()))) {
		return nil
	}
	return &params.Error{Message: fmt.Sprintf("The token broker URL %q after \"@\" in the ID parameter must be an https URL (http is accepted only for a loopback address, for tests).", s)}
}

func (s *oproxySource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	if tok, ok := s.rec.cachedAccess(now, s.cfg.Logger); ok && !s.invalid {
		saveRecord(s.cfg.Store, s.rec) // a no-op unless just migrated
		return tok, nil
	}
	if limit := now.Add(maxBackoff).Unix(); s.rec.NextRequest > limit {
		// No back-off of ours waits that long: the value was written by
		// something else, or before the host clock was stepped back.
		s.cfg.Logger.Warn("the stored token broker back-off is further away than the longest back-off; discarding it", "next_request_time", time.Unix(s.rec.NextRequest, 0).UTC().Format(time.RFC3339), "max_backoff", maxBackoff)
		s.rec.NextRequest, s.rec.Failures = 0, 0
	}
	if s.rec.NextRequest > now.Unix() {
		return "", fmt.Errorf("The request will be delayed until %s: the token broker failed recently, and it is retried with an exponential back-off. If this persists, run ms-management-activity-auth-reset.",
			time.Unix(s.rec.NextRequest, 0).UTC().Format(time.RFC3339))
	}
	tok, err := s.obtain(ctx, now)
	if err != nil {
		// Back off 2^n s, n = 1..6, as the reference does, so that a broken
		// configuration run every minute does not hammer the broker.
		s.rec.Failures = min(s.rec.Failures+1, maxBackoffExponent)
		s.rec.NextRequest = now.Add(time.Duration(math.Pow(2, float64(s.rec.Failures))) * time.Second).Unix()
		saveRecord(s.cfg.Store, s.rec)
		return "", err
	}
	s.cfg.Secrets.Add(tok.AccessToken, tok.RefreshToken)
	s.rec.AccessToken = tok.AccessToken
	s.rec.ExpiresOn = now.Add(time.Duration(tok.ExpiresIn) * time.Second).Unix()
	if tok.RefreshToken != "" {
		s.rec.RefreshToken = tok.RefreshToken
	}
	s.rec.Failures, s.rec.NextRequest = 0, 0
	s.invalid = false
	saveRecord(s.cfg.Store, s.rec)
	s.cfg.Logger.Debug("access token acquired", "flow", flowOproxy, "expires_in", tok.ExpiresIn)
	return tok.AccessToken, nil
}

func (s *oproxySource) Invalidate() {
	s.mu.Lock()
	s.invalid = true
	s.mu.Unlock()
}

type oproxyToken struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"-"`
	RefreshToken string `json:"refresh_token"`
}

// obtain makes one broker request.
func (s *oproxySource) obtain(ctx context.Context, now time.Time) (*oproxyToken, error) {
	content := s.rec.RefreshToken
	if content == "" {
		content = s.token
	}
	enc, err := encryptToken(s.key, fmt.Sprintf("%d:%s", now.Unix(), content))
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{
		"app_name":        oproxyAppName,
		"registration_id": s.regID,
		"encrypted_token": enc,
		"scope":           nil,
		"resource":        "",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.brokerU, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, errorf(s.red, "Error in Microsoft authorization: could not reach the token broker %s: %v", s.brokerU, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	red := s.red.add(content)
	if resp.StatusCode/100 != 2 {
		return nil, brokerError(red, resp.StatusCode, data)
	}
	var raw struct {
		AccessToken  string          `json:"access_token"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		RefreshToken string          `json:"refresh_token"`
	}
	if json.Unmarshal(data, &raw) != nil || raw.AccessToken == "" {
		return nil, errors.New("There was a problem in retrieving an updated access token.\nThe response from the Oproxy server did not contain the expected content.")
	}
	tok := &oproxyToken{AccessToken: raw.AccessToken, RefreshToken: raw.RefreshToken, ExpiresIn: 3595}
	if n, err := strconv.ParseFloat(strings.Trim(string(raw.ExpiresIn), `" `), 64); err == nil && n > 0 {
		tok.ExpiresIn = int64(n)
	}
	return tok, nil
}

// brokerError is the reference's message, "Error in Microsoft
// authorization. Status: <code>, body: <server message>", with the body
// reduced to the broker's message when it is JSON.
func brokerError(red redactor, status int, body []byte) error {
	var e struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Error  string `json:"error"`
		Desc   string `json:"error_description"`
	}
	text := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil {
		if server := strings.Join(nonEmpty(e.Title, e.Detail, e.Error, firstLine(e.Desc)), ": "); server != "" {
			text = server
		}
	}
	text = red.cleanCut(text, 300)
	return &authError{msg: red.clean(fmt.Sprintf("Error in Microsoft authorization. Status: %d, body: %s", status, text))}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// encryptToken is the broker's wire format: AES-GCM under the app's key,
// base64(nonce || ciphertext+tag), with a 12-byte random nonce.
func encryptToken(key []byte, plaintext string) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", &params.Error{Message: "The Key parameter is not a valid key of the Cortex XSOAR application."}
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(plaintext), nil)), nil
}

package emulator

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Cortex XSOAR token broker ("oproxy"): it exchanges an instance's
// encrypted refresh token for an access token of the tenant.

type brokerReg struct {
	tenant string
	key    []byte
	tokens map[string]bool // refresh tokens the registration accepts
}

// RegisterBroker registers a Cortex XSOAR application instance with the
// broker for tenant and returns what the user would paste: the ID (here in
// the "ID@URL" form pointing at this emulator), the Token and the Key.
func (s *Server) RegisterBroker(registrationID, tenant string) (id, token, key string) {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	token = "0.oproxy-" + identityRandHex(24)
	s.identity.mu.Lock()
	s.identity.brokers[registrationID] = &brokerReg{tenant: tenant, key: k, tokens: map[string]bool{token: true}}
	s.identity.mu.Unlock()
	return registrationID + "@" + s.brokerURL(), token, base64.StdEncoding.EncodeToString(k)
}

// brokerURL is the emulated oproxy's obtain-token URL.
func (s *Server) brokerURL() string { return s.URL + "/obtain-token" }

// OproxyParams registers a broker instance for tenant and returns the
// instance params of the Cortex XSOAR application flow against this
// emulator. It works on a plain-HTTP emulator too (MSAL flows need TLS).
func (s *Server) OproxyParams(tenant string) map[string]any {
	id, token, key := s.RegisterBroker("reg-"+identityRandHex(6), tenant)
	return map[string]any{
		"base_url":                  s.BaseURL(),
		"credentials_auth_id":       map[string]any{"identifier": "", "password": id},
		"credentials_refresh_token": map[string]any{"identifier": "", "password": token},
		"credentials_enc_key":       map[string]any{"identifier": "", "password": key},
	}
}

// handleBroker is the Cortex XSOAR oproxy: it decrypts encrypted_token
// (AES-GCM, base64(nonce || ciphertext)) with the registration's key, checks
// the "<epoch seconds>:<token>" timestamp and the token, and trades it for
// an access token and a new refresh token.
func (s *Server) handleBroker(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppName        string `json:"app_name"`
		RegistrationID string `json:"registration_id"`
		EncryptedToken string `json:"encrypted_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		brokerFail(w, http.StatusBadRequest, "Bad request", "The body is not JSON.")
		return
	}
	s.identity.mu.Lock()
	b := s.identity.brokers[req.RegistrationID]
	var key []byte
	if b != nil {
		key = b.key
	}
	s.identity.mu.Unlock()
	if req.AppName != "ms-management-api" || b == nil {
		brokerFail(w, http.StatusNotFound, "Registration not found", "No registration "+req.RegistrationID+" for app "+req.AppName+".")
		return
	}
	plain, ok := decryptBrokerToken(key, req.EncryptedToken)
	if !ok {
		brokerFail(w, http.StatusUnauthorized, "Unauthorized", "The token could not be decrypted with the registration's key.")
		return
	}
	tsRaw, token, _ := strings.Cut(plain, ":")
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil || identityAbs(s.Now().Sub(time.Unix(ts, 0))) > 5*time.Minute {
		brokerFail(w, http.StatusUnauthorized, "Unauthorized", "The token's timestamp is missing or too far from the current time.")
		return
	}
	s.identity.mu.Lock()
	valid := b.tokens[token]
	ttl := s.identity.ttl
	var rt string
	if valid {
		rt = "0.oproxy-" + identityRandHex(24)
		b.tokens[rt] = true
	}
	tenant := b.tenant
	s.identity.mu.Unlock()
	if !valid {
		brokerFail(w, http.StatusForbidden, "Forbidden", "The refresh token is not valid for this registration; grant access to the Cortex XSOAR application again.")
		return
	}
	at, _ := s.issue(tenant, ttl)
	writeIdentityJSON(w, http.StatusOK, map[string]any{"access_token": at, "expires_in": int64(ttl / time.Second), "refresh_token": rt})
}

func decryptBrokerToken(key []byte, enc string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", false
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil || len(raw) < gcm.NonceSize() {
		return "", false
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return "", false
	}
	return string(plain), true
}

func brokerFail(w http.ResponseWriter, status int, title, detail string) {
	writeIdentityJSON(w, status, map[string]any{"title": title, "detail": detail})
}

package auth

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/internal/state"
)

// The reference integration keeps its tokens under access_token,
// valid_until (Unix seconds) and current_refresh_token. A user switching
// over keeps a delegated or oproxy refresh token through these helpers;
// saveRecord removes the legacy keys once our record is stored.

// legacyTokens reads the reference's keys.
func legacyTokens(s *state.Store) (access string, validUntil int64, refresh string) {
	access = s.String(legacyAccessToken)
	refresh = s.String(legacyRefreshToken)
	switch v := s.Get(legacyValidUntil).(type) {
	case float64:
		validUntil = int64(v)
	case int64:
		validUntil = v
	case int:
		validUntil = int64(v)
	case string:
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		validUntil = int64(f)
	case json.Number:
		f, _ := v.Float64()
		validUntil = int64(f)
	}
	return access, validUntil, refresh
}

// migratedAccess returns the reference's cached access token if it is still
// valid with our margin (the reference's valid_until already has its own 5 s).
func migratedAccess(s *state.Store, now time.Time) (string, int64) {
	access, validUntil, _ := legacyTokens(s)
	if access == "" || !validAt(validUntil, now) {
		return "", 0
	}
	return access, validUntil
}

// migratedAccountID is the home account ID given to a refresh token imported
// from the reference, which never kept the user's IDs. After the first
// refresh MSAL files the tokens under the real ID and the record follows.
const migratedAccountID = "migrated-reference-token"

// migrateRefreshToken seeds MSAL's cache with the reference's delegated
// refresh token, since MSAL Go has no "acquire by refresh token" call. The
// entries follow MSAL's unified cache schema (the JSON every MSAL library
// shares); the emulator test of the migration would catch a change.
func migrateRefreshToken(s *state.Store, rec *record, c Cloud, tenant, clientID string) {
	_, _, rt := legacyTokens(s)
	if rt == "" || rec.Account != "" {
		return
	}
	u, err := url.Parse(c.AuthorityHost)
	if err != nil || u.Host == "" {
		return
	}
	env := strings.ToLower(u.Host)
	realm := strings.ToLower(tenant)
	home := migratedAccountID + "." + realm
	join := func(parts ...string) string { return strings.ToLower(strings.Join(parts, "-")) }
	blob := map[string]any{
		"RefreshToken": map[string]any{
			join(home, env, "refreshtoken", clientID, "", ""): map[string]any{
				"home_account_id": home, "environment": env, "credential_type": "RefreshToken",
				"client_id": clientID, "secret": rt,
			},
		},
		"Account": map[string]any{
			join(home, env, realm): map[string]any{
				"home_account_id": home, "environment": env, "realm": realm,
				"local_account_id": migratedAccountID, "authority_type": "MSSTS", "username": "",
			},
		},
		"AppMetadata": map[string]any{
			join("appmetadata", env, clientID): map[string]any{"environment": env, "client_id": clientID},
		},
	}
	data, err := json.Marshal(blob)
	if err != nil {
		return
	}
	rec.MSALCache = string(data)
	rec.Account = home
}

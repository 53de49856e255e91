package activity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// TokenSource is what the client needs from authentication: a bearer token
// per request, and a way to drop a cached token the API refused (used once
// after an HTTP 401). Every flow of package auth satisfies it; the client
// does not know which flow it is.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate()
}

// StaticToken is a TokenSource that always returns the same token (tests,
// benchmarks, the emulator).
type StaticToken string

// Token returns the static token.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Invalidate does nothing.
func (StaticToken) Invalidate() {}

// TenantFromToken returns the tid claim of a JWT access token, read without
// verifying the signature (the API verifies it; we only need the tenant for
// the request path, as the reference does). It reports false for a token
// that is not a JWT or has no tid.
func TenantFromToken(token string) (string, bool) {
	var claims struct {
		TID string `json:"tid"`
	}
	if !decodeJWTPayload(token, &claims) || claims.TID == "" {
		return "", false
	}
	return claims.TID, true
}

func decodeJWTPayload(token string, out any) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(payload, out) == nil
}

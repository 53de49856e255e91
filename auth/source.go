// Package auth provides the bearer tokens of the Management Activity API, one
// TokenSource per authentication flow, with the token cache persisted in the
// engine's integrationContext.
package auth

import "context"

// TokenSource yields bearer tokens for the Management Activity API.
//
// Token returns a valid access token, from the cache when it is still fresh.
// Invalidate discards the cached access token, so that the next Token call
// asks the identity provider for a new one (used once after an HTTP 401).
//
// It is the same method set as activity.TokenSource, which the API client
// declares for itself so that it does not depend on this package.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate()
}

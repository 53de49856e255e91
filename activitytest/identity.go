package activitytest

import "net/http"

// identityState is the token endpoints' state (registered apps, auth codes,
// refresh tokens, managed identity, the Cortex XSOAR oproxy broker).
type identityState struct{}

func (s *Server) initIdentity() {}

func (s *Server) registerIdentity(mux *http.ServeMux) {}

// identityRevoked reports whether the token with this jti was revoked (for
// "token expired mid-run" faults).
func (s *Server) identityRevoked(jti string) bool { return false }

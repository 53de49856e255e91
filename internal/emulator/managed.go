package emulator

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
)

// The App Service style managed identity endpoint (IDENTITY_ENDPOINT with
// the IDENTITY_HEADER secret), and the Azure VM IMDS path.

// RegisterManagedIdentity enables a managed identity for tenant: clientID ""
// is the system-assigned identity, otherwise a user-assigned one. It
// returns what the environment of an App Service would carry:
// IDENTITY_ENDPOINT and IDENTITY_HEADER.
func (s *Server) RegisterManagedIdentity(clientID, tenant string) (endpoint, header string) {
	s.identity.mu.Lock()
	defer s.identity.mu.Unlock()
	s.identity.mis[clientID] = tenant
	return s.URL + "/msi/token", s.identity.miHeader
}

// handleManagedIdentity is the App Service managed identity endpoint
// (IDENTITY_ENDPOINT, header X-IDENTITY-HEADER) and, for a client that
// rewrites the IMDS address to this server, the IMDS one (header Metadata).
func (s *Server) handleManagedIdentity(w http.ResponseWriter, r *http.Request) {
	s.identity.mu.Lock()
	header := s.identity.miHeader
	s.identity.mu.Unlock()
	imds := strings.HasPrefix(r.URL.Path, "/metadata/")
	if imds && !strings.EqualFold(r.Header.Get("Metadata"), "true") ||
		!imds && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-IDENTITY-HEADER")), []byte(header)) != 1 {
		writeIdentityJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "Unauthorized request: the identity header is missing or wrong."})
		return
	}
	q := r.URL.Query()
	resource := q.Get("resource")
	if resource == "" {
		writeIdentityJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"})
		return
	}
	clientID := q.Get("client_id")
	s.identity.mu.Lock()
	tenant, ok := s.identity.mis[clientID]
	ttl := s.identity.ttl
	s.identity.mu.Unlock()
	if !ok {
		writeIdentityJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."})
		return
	}
	at, exp := s.issue(tenant, ttl)
	writeIdentityJSON(w, http.StatusOK, map[string]any{
		"access_token": at, "expires_on": strconv.FormatInt(exp.Unix(), 10), "resource": resource,
		"token_type": "Bearer", "client_id": clientID,
	})
}

package activitytest

import "net/http"

// feedState is the Management Activity API's state (tenants, subscriptions,
// blobs, records, faults). Owned by the feed emulator work.
type feedState struct{}

func (s *Server) initFeed() {}

func (s *Server) registerFeed(mux *http.ServeMux) {}

package emulator

import (
	"net/http"
	"time"
)

// SetClockOffset makes the emulator run d ahead of the clock it was built
// with (negative: behind), so a client sharing that clock sees a host clock
// that disagrees with Microsoft's, as on an engine whose NTP is broken.
// Everything the emulator times follows: listings, expiry, tokens and the
// Date header.
func (s *Server) SetClockOffset(d time.Duration) { s.offset.Store(int64(d)) }

// dated sets every answer's Date header from the emulator's clock, as the
// API's front end does from Microsoft's; net/http would otherwise use the
// host's wall clock.
func (s *Server) dated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.Now().Format(http.TimeFormat))
		h.ServeHTTP(w, r)
	})
}

// BreakBlob makes every download of the blob answer status (500, 403, …)
// until HealBlob, as a blob that is broken on Microsoft's side would.
// ClearFaults leaves it broken.
func (s *Server) BreakBlob(contentID string, status int) { s.broken.Store(contentID, status) }

// HealBlob makes a blob broken by BreakBlob download normally again.
func (s *Server) HealBlob(contentID string) { s.broken.Delete(contentID) }

func (s *Server) brokenBlob(id string) *response {
	v, ok := s.broken.Load(id)
	if !ok {
		return nil
	}
	status := v.(int)
	if status == http.StatusForbidden {
		return afError(status, "AF10001", "The permission set ({0}) sent in the request does not include the expected permission.")
	}
	return afError(status, "AF50000", "An internal error occurred. Retry the request.")
}

// SetRepeatListing makes content listings show every blob twice, as a
// listing whose pages overlap would.
func (s *Server) SetRepeatListing(on bool) { s.repeat.Store(on) }

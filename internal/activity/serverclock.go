package activity

import (
	"net/http"
	"sync"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
)

// ServerClock is the API's clock as learned from the Date header of its
// answers (every answer, errors included). Listing windows, the 7-day limit
// and fetch positions are the API's times, so a client whose host clock is
// off (an engine VM with broken NTP) must reason in the API's time, not its
// own. It is safe for concurrent use.
type ServerClock struct {
	host clock.Clock

	mu     sync.Mutex
	known  bool
	offset time.Duration // host − server at the latest answer
	newest time.Time     // the latest Date seen
}

// NewServerClock returns a ServerClock that knows nothing yet; until an
// answer is seen, Now is the host's time.
func NewServerClock(host clock.Clock) *ServerClock {
	if host == nil {
		host = clock.Real{}
	}
	return &ServerClock{host: host}
}

// observe reads one answer's Date header (ignored when absent or not an
// HTTP date). Date has whole seconds and is stamped before the answer
// travels, so the server time derived from it is never ahead of the
// server's own.
func (c *ServerClock) observe(h http.Header) {
	v := h.Get("Date")
	if v == "" {
		return
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return
	}
	now := c.host.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known = true
	// The latest answer wins: the host clock may have been stepped since
	// an earlier one.
	c.offset = now.Sub(t)
	if t.After(c.newest) {
		c.newest = t.UTC()
	}
}

// Now is the API's current time: the host's minus the offset learned from
// the latest answer, or the host's while no answer carried a Date.
func (c *ServerClock) Now() time.Time {
	now := c.host.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Add(-c.offset).UTC()
}

// Offset is how far the host clock is ahead of the API's (negative:
// behind); ok is false until an answer carried a Date.
func (c *ServerClock) Offset() (d time.Duration, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, c.known
}

// Vouched is the newest time an answer of the API carried: nothing the
// client concludes about the API's content may be later than that.
func (c *ServerClock) Vouched() (t time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newest, c.known
}

// ServerClock returns the clock the client learns from the API's answers.
func (c *Client) ServerClock() *ServerClock { return c.server }

package activity

import (
	"context"
	"sync"
)

// gate bounds the requests in flight with a limit that adapts to
// throttling: halved on each throttled answer (down to 1), raised by one
// after a run of successes (up to the configured maximum). It is the
// "reduce concurrency on AF429" of docs/api-facts.md, Throttling.
type gate struct {
	mu        sync.Mutex
	max       int
	limit     int
	inflight  int
	successes int
	wake      chan struct{} // closed and replaced whenever a slot may be free
	waiting   int           // acquirers blocked on wake (tests wait for it)
}

func newGate(max int) *gate {
	return &gate{max: max, limit: max, wake: make(chan struct{})}
}

// acquire takes a slot; head (nil: never) lets the next download to be
// delivered in over the limit.
func (g *gate) acquire(ctx context.Context, head func() bool) error {
	for {
		g.mu.Lock()
		if g.inflight < g.limit || (head != nil && head()) {
			g.inflight++
			g.mu.Unlock()
			return nil
		}
		if err := await(ctx, &g.mu, &g.waiting, g.wake); err != nil {
			return err
		}
	}
}

func (g *gate) release() {
	g.mu.Lock()
	g.inflight--
	g.broadcast()
	g.mu.Unlock()
}

// nudge wakes the waiters so they recheck head() (see passHead).
func (g *gate) nudge() {
	g.mu.Lock()
	g.broadcast()
	g.mu.Unlock()
}

func (g *gate) broadcast() {
	close(g.wake)
	g.wake = make(chan struct{})
}

// throttle halves the limit.
func (g *gate) throttle() {
	g.mu.Lock()
	g.limit = max(1, g.limit/2)
	g.successes = 0
	g.mu.Unlock()
}

// success counts a success; after limit successes in a row the limit grows
// by one (additive increase), so recovery takes a while after throttling.
func (g *gate) success() {
	g.mu.Lock()
	if g.limit < g.max {
		g.successes++
		if g.successes >= g.limit {
			g.limit++
			g.successes = 0
			g.broadcast()
		}
	}
	g.mu.Unlock()
}

func (g *gate) current() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}

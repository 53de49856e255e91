package activity

import (
	"context"
	"errors"
	"sync"
	"unsafe"
)

// budget bounds the memory of downloaded blobs not yet delivered, for the
// whole run: bytes decoded plus the size of each Record. A download that is
// not the next one to deliver waits while the others hold more than limit;
// the next one never waits (its own per-blob cap bounds it), so at most
// 2 × limit is held, whatever the parallelism, and the delivery order can
// never deadlock. Download releases a blob's bytes once its callback
// returns: a caller that keeps records after that holds them on its own
// account (fetch keeps at most max_fetch).
//
// Listed blob descriptors are charged to it too (takeListing), from the
// moment they are decoded until the caller releases them (ReleaseListing),
// so that the downloads that are not head wait for them like for any other
// bytes held, and 2 × limit still bounds the whole.
type budget struct {
	mu    sync.Mutex
	limit int64
	used  int64 // everything charged, listed descriptors included
	// listed is the part of used held by listed blob descriptors.
	listed int64
	wake   chan struct{} // closed and replaced whenever bytes are released
	// waiting counts the takers blocked on wake (tests wait for it).
	waiting int
}

// recordSize is what a Record costs besides its raw bytes.
const recordSize = int64(unsafe.Sizeof(Record{}))

func newBudget(limit int64) *budget { return &budget{limit: limit, wake: make(chan struct{})} }

// take charges n bytes, waiting while the budget is spent unless head
// reports that the caller's blob is the next one to deliver.
func (b *budget) take(ctx context.Context, n int64, head func() bool) error {
	for {
		b.mu.Lock()
		if b.used+n <= b.limit || head() {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		if err := await(ctx, &b.mu, &b.waiting, b.wake); err != nil {
			return err
		}
	}
}

// await is the wait of budget.take, budget.takeListing and gate.acquire,
// called with mu held: it waits, unlocked and counted in *waiting, until
// wake is closed (then the caller rechecks) or ctx ends.
func await(ctx context.Context, mu *sync.Mutex, waiting *int, wake <-chan struct{}) error {
	*waiting++
	mu.Unlock()
	var err error
	select {
	case <-wake:
	case <-ctx.Done():
		err = ctx.Err()
	}
	mu.Lock()
	*waiting--
	mu.Unlock()
	return err
}

// give releases n bytes and wakes the waiters (one may have become head).
func (b *budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// errListingBudget is takeListing's refusal: the descriptors listed and not
// yet released would hold more than the whole budget on their own, which no
// wait can cure.
var errListingBudget = errors.New("the listed blob descriptors exceed the budget")

// takeListing charges n bytes of listed blob descriptors. It waits, like a
// download that is not head, while downloads hold the budget: they are
// delivered, and release it, whatever the listing does (the head never
// waits); it fails with errListingBudget when the descriptors alone would
// exceed the limit. A listing that does not overlap downloads (fetch,
// list-content) therefore never waits.
func (b *budget) takeListing(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.listed+n > b.limit {
			b.mu.Unlock()
			return errListingBudget
		}
		if b.used+n <= b.limit {
			b.used += n
			b.listed += n
			b.mu.Unlock()
			return nil
		}
		if err := await(ctx, &b.mu, &b.waiting, b.wake); err != nil {
			return err
		}
	}
}

// giveListing releases n bytes of listed blob descriptors.
func (b *budget) giveListing(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.listed -= n
	b.mu.Unlock()
	b.give(n)
}

// passHead is how a delivered blob leaves the budget and the gate: advance
// moves the head past it (the next blob to deliver becomes head), then its
// held bytes are given back and every waiter of the budget and of the gate
// is woken — always, even when it held nothing. A download waiting for
// either rechecks head() only when woken, so a head moved without a
// wake-up, or a wake-up before the head moved, left the new head waiting
// for ever while the caller waited for it (the deadlock of Download before
// this; Download and Scan both deliver through here).
func (c *Client) passHead(advance func(), held int64) {
	advance()
	c.budget.give(held)
	c.gate.nudge()
}

func (b *budget) inFlight() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// charge is one blob's account with the budget.
type charge struct {
	b     *budget
	ctx   context.Context
	head  func() bool
	bytes int64 // charged so far (only the blob's worker adds)
}

func (c *charge) take(n int64) error {
	if c == nil {
		return nil
	}
	if err := c.b.take(c.ctx, n, c.head); err != nil {
		return err
	}
	c.bytes += n
	return nil
}

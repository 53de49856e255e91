// Package clock abstracts time so that commands, retries and the emulator can
// run against a fake clock in tests.
package clock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock tells the time and sleeps. Sleep returns early with ctx.Err() when the
// context ends.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Fake is a manual clock for tests. Sleep advances the fake time immediately
// instead of blocking, so code that backs off runs instantly and the total
// time slept can be asserted.
type Fake struct {
	mu        sync.Mutex
	now       time.Time
	slept     time.Duration
	deadlines []*fakeDeadline // pending, from WithTimeout
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Sleep advances the fake time by d without blocking. A deadline of
// WithTimeout on the way ends its context there; when that ends ctx, the
// sleep stops at the deadline and returns ctx's error.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	f.mu.Lock()
	target := f.now.Add(d)
	for {
		at, ok := f.nextDeadlineLocked(target)
		if !ok {
			break
		}
		f.slept += at.Sub(f.now)
		due := f.advanceLocked(at)
		f.mu.Unlock()
		expire(due)
		if err := ctx.Err(); err != nil {
			return err
		}
		f.mu.Lock()
	}
	f.slept += target.Sub(f.now)
	f.now = target
	f.mu.Unlock()
	return nil
}

// Advance moves the fake time forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	due := f.advanceLocked(f.now.Add(d))
	f.mu.Unlock()
	expire(due)
}

// Set sets the fake time.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	due := f.advanceLocked(t)
	f.mu.Unlock()
	expire(due)
}

// Slept returns the total duration passed to Sleep.
func (f *Fake) Slept() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slept
}

// WithTimeout returns a copy of ctx that ends with context.DeadlineExceeded
// d after c.Now(): on the wall clock for Real, when the fake time reaches it
// for Fake. Command budgets use it, so that they run on the injected clock.
func WithTimeout(ctx context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if tc, ok := c.(interface {
		WithTimeout(context.Context, time.Duration) (context.Context, context.CancelFunc)
	}); ok {
		return tc.WithTimeout(ctx, d)
	}
	return context.WithTimeout(ctx, d)
}

// WithTimeout returns a context whose deadline is d after the fake time: it
// ends when Sleep, Advance or Set move the fake time to the deadline (a
// Sleep across it stops there and returns the context's error).
func (f *Fake) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	f.mu.Lock()
	fd := &fakeDeadline{parent: ctx, at: f.now.Add(d), done: make(chan struct{})}
	if d > 0 {
		f.deadlines = append(f.deadlines, fd)
	}
	f.mu.Unlock()
	if d <= 0 {
		fd.end(context.DeadlineExceeded)
	}
	stop := context.AfterFunc(ctx, func() { fd.end(ctx.Err()) })
	return fd, func() {
		stop()
		fd.end(context.Canceled)
		f.mu.Lock()
		f.deadlines = slices.DeleteFunc(f.deadlines, func(x *fakeDeadline) bool { return x == fd })
		f.mu.Unlock()
	}
}

// advanceLocked moves the fake time to t (never back) and returns the
// deadlines it reached, removed from the pending list. f.mu is held.
func (f *Fake) advanceLocked(t time.Time) []*fakeDeadline {
	if t.After(f.now) {
		f.now = t
	}
	var due []*fakeDeadline
	f.deadlines = slices.DeleteFunc(f.deadlines, func(x *fakeDeadline) bool {
		if !x.at.After(f.now) {
			due = append(due, x)
			return true
		}
		return false
	})
	return due
}

// nextDeadlineLocked is the earliest pending deadline not after t.
func (f *Fake) nextDeadlineLocked(t time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	for _, x := range f.deadlines {
		if !x.at.After(t) && (!found || x.at.Before(next)) {
			next, found = x.at, true
		}
	}
	return next, found
}

func expire(due []*fakeDeadline) {
	for _, x := range due {
		x.end(context.DeadlineExceeded)
	}
}

// fakeDeadline is a context ended by the fake clock. It implements
// AfterFunc, so the contexts derived from it are cancelled synchronously
// when it ends (no goroutine races the code under test).
type fakeDeadline struct {
	parent context.Context
	at     time.Time
	mu     sync.Mutex
	done   chan struct{}
	err    error
	funcs  map[*func()]struct{}
}

func (c *fakeDeadline) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.at) {
		return pd, true
	}
	return c.at, true
}

func (c *fakeDeadline) Done() <-chan struct{} { return c.done }

func (c *fakeDeadline) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *fakeDeadline) Value(key any) any { return c.parent.Value(key) }

// AfterFunc runs f when the context ends (at once if it has).
func (c *fakeDeadline) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.funcs == nil {
		c.funcs = map[*func()]struct{}{}
	}
	key := &f
	c.funcs[key] = struct{}{}
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, pending := c.funcs[key]
		delete(c.funcs, key)
		return pending
	}
}

func (c *fakeDeadline) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.done)
	funcs := c.funcs
	c.funcs = nil
	c.mu.Unlock()
	for f := range funcs {
		(*f)()
	}
}

package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)

func TestFakeWithTimeout(t *testing.T) {
	f := NewFake(t0)
	ctx, cancel := WithTimeout(context.Background(), f, 20*time.Second)
	defer cancel()
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	if dl, ok := ctx.Deadline(); !ok || !dl.Equal(t0.Add(20*time.Second)) {
		t.Errorf("Deadline() = %v %v, want the fake deadline", dl, ok)
	}
	for i := 0; i < 3; i++ {
		if err := f.Sleep(child, 5*time.Second); err != nil {
			t.Fatalf("sleep %d before the deadline: %v", i, err)
		}
	}
	// Across the deadline: the sleep stops there, the derived context has
	// ended synchronously, with DeadlineExceeded.
	err := f.Sleep(child, 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("sleep across the deadline: %v (child %v, ctx %v), want DeadlineExceeded", err, child.Err(), ctx.Err())
	}
	if got := f.Now().Sub(t0); got != 20*time.Second {
		t.Errorf("fake time %s, want the sleep to stop at the 20 s deadline", got)
	}
	select {
	case <-child.Done():
	default:
		t.Error("child.Done() not closed")
	}
}

func TestFakeWithTimeoutOtherWays(t *testing.T) {
	f := NewFake(t0)
	// A sleep on another context goes past the deadline, which still ends.
	ctx, cancel := WithTimeout(context.Background(), f, time.Second)
	defer cancel()
	if err := f.Sleep(context.Background(), time.Minute); err != nil || f.Now().Sub(t0) != time.Minute || ctx.Err() != context.DeadlineExceeded {
		t.Errorf("unrelated sleep: %v, now +%s, ctx %v", err, f.Now().Sub(t0), ctx.Err())
	}
	// Advance and Set end deadlines.
	a, cancelA := WithTimeout(context.Background(), f, time.Second)
	defer cancelA()
	f.Advance(time.Second)
	if a.Err() != context.DeadlineExceeded {
		t.Errorf("Advance to the deadline: %v", a.Err())
	}
	s, cancelS := WithTimeout(context.Background(), f, time.Hour)
	defer cancelS()
	f.Set(f.Now().Add(2 * time.Hour))
	if s.Err() != context.DeadlineExceeded {
		t.Errorf("Set past the deadline: %v", s.Err())
	}
	// cancel, and the parent's cancellation, give Canceled.
	c, cancelC := WithTimeout(context.Background(), f, time.Hour)
	cancelC()
	parent, cancelParent := context.WithCancel(context.Background())
	p, cancelP := WithTimeout(parent, f, time.Hour)
	defer cancelP()
	cancelParent()
	<-p.Done() // the parent's end reaches p through context.AfterFunc's goroutine
	if c.Err() != context.Canceled || p.Err() != context.Canceled {
		t.Errorf("cancel: %v, parent cancelled: %v", c.Err(), p.Err())
	}
	if z, cancelZ := WithTimeout(context.Background(), f, 0); z.Err() != context.DeadlineExceeded {
		t.Errorf("zero timeout: %v", z.Err())
		cancelZ()
	}
	// Real uses the wall clock.
	r, cancelR := WithTimeout(context.Background(), Real{}, time.Hour)
	defer cancelR()
	if dl, ok := r.Deadline(); !ok || time.Until(dl) < 59*time.Minute {
		t.Errorf("Real deadline %v", dl)
	}
}

package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/memory"
)

func TestConformance(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Opener {
		b := memory.NewBackend()
		return func() (audit.Store, error) { return b.Open(), nil }
	})
}

// TestDamage: the backend lives in the process's memory, out of reach of
// hand edits, table drops and restores; every damage case skips.
func TestDamage(t *testing.T) {
	audittest.RunDamage(t, func(t *testing.T) audittest.DamageBackend {
		b := memory.NewBackend()
		return audittest.DamageBackend{Open: func() (audit.Store, error) { return b.Open(), nil }}
	})
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestWithClockDrivesExpiryAndCreatedAt(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := memory.New(memory.WithClock(clock.Now))

	a, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !a.AcquiredAt.Equal(clock.Now()) || !a.ExpiresAt.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("lease %v..%v, want it to start at the fake clock's %v", a.AcquiredAt, a.ExpiresAt, clock.Now())
	}
	e, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Started, a.Token))
	if err != nil {
		t.Fatal(err)
	}
	if !e.CreatedAt.Equal(clock.Now()) {
		t.Errorf("CreatedAt %v, want the fake clock's %v", e.CreatedAt, clock.Now())
	}

	clock.Advance(time.Minute - time.Nanosecond)
	if _, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute); !errors.Is(err, audit.ErrLockHeld) {
		t.Fatalf("one nanosecond before expiry: got %v, want ErrLockHeld", err)
	}
	clock.Advance(time.Nanosecond)
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, a.Token)); !errors.Is(err, audit.ErrFenced) {
		t.Errorf("append at the expiry instant: got %v, want ErrFenced", err)
	}
	b, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute)
	if err != nil {
		t.Fatalf("acquire at the expiry instant: %v", err)
	}
	if b.Token != a.Token+1 {
		t.Errorf("token %d, want %d", b.Token, a.Token+1)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := memory.New()
	if _, err := s.Snapshot(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot with a cancelled context: %v", err)
	}
	if _, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("AcquireLock with a cancelled context: %v", err)
	}
}

package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// heldLock is a lease the runner holds, kept alive by a heartbeat. ctx is
// cancelled (with cause [ErrLeaseLost]) as soon as the lease cannot be kept,
// so the change that is running stops and its audit writes, carrying a stale
// token, are rejected by the store.
type heldLock struct {
	r      *Runner
	ctx    context.Context
	cancel context.CancelCauseFunc
	// auditCtx carries ctx's values but not its cancellation: audit writes
	// that record an outcome must land even when the run is being stopped.
	auditCtx context.Context
	token    int64
	stop     chan struct{}
	done     chan struct{}
	wake     chan struct{}

	mu     sync.Mutex
	cur    audit.Lease
	lastOK time.Time // start of the last successful acquire or refresh
	paused bool
	gone   bool // the lease is lost; nothing more to refresh or release
}

func (h *heldLock) lease() audit.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// acquire takes the run lock, retrying with capped exponential backoff until
// the configured wait is spent. It never blocks in the store.
func (r *Runner) acquire(ctx context.Context, runID string) (*heldLock, error) {
	owner := audit.Owner{Host: r.host, PID: r.pid, RunID: runID}
	deadline := time.Now().Add(r.cfg.lockWait)
	backoff := 25 * time.Millisecond
	for waiting := false; ; {
		// Taken before the request: the store starts the lease no earlier,
		// so counting from here never overestimates what is left of it.
		start := time.Now()
		l, err := r.cfg.store.AcquireLock(ctx, owner, r.cfg.lockTTL)
		if err == nil {
			took := time.Since(start)
			if took < r.cfg.lockTTL-r.cfg.lockTTL/10 {
				return r.hold(ctx, l, start), nil
			}
			// The request took (nearly) the whole lease: counted from
			// before it, as a lease must be, it is over or about to be,
			// and on PostgreSQL the store dated it from before a wait on
			// the lock row. Hand it back and try again: the wait was
			// most likely for a holder that has just finished.
			r.releaseSlowLease(ctx, l)
			err = fmt.Errorf("%w right after acquiring it: the request took %v, longer than the lease (%v) less its safety margin", ErrLeaseLost, took.Round(time.Millisecond), r.cfg.lockTTL)
			if time.Until(deadline) <= 0 {
				return nil, fmt.Errorf("lost the run lock before running any change: %w", err)
			}
			r.cfg.logger.Warn("acquiring the run lock took longer than the lease; trying again", "error", err)
		} else if !errors.Is(err, audit.ErrLockHeld) {
			return nil, fmt.Errorf("acquiring the run lock: %w", err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			// Who holds it, as the store reads it now; failing that (the
			// holder let go meanwhile, or the store could not even be
			// asked), what the store said at the last try.
			holder := err.Error()
			if info, ierr := r.cfg.store.LockInfo(ctx); ierr == nil && info.Valid() {
				holder = fmt.Sprintf("held by %s pid %d (run %s) until %s", info.Owner.Host, info.Owner.PID, info.Owner.RunID, info.ExpiresAt.Format(time.RFC3339))
			}
			return nil, fmt.Errorf("%w after %v: %s", ErrLockTimeout, r.cfg.lockWait, holder)
		}
		if !waiting {
			waiting = true
			r.lockWaiting(ctx, runID, deadline)
		}
		t := time.NewTimer(min(backoff, wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the run lock: %w", context.Cause(ctx))
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

// releaseSlowLease gives back a lease acquired too slowly to use. Failing
// that, it expires by itself.
func (r *Runner) releaseSlowLease(ctx context.Context, l audit.Lease) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := r.cfg.store.ReleaseLock(rctx, l); err != nil && !errors.Is(err, audit.ErrLockLost) {
		r.cfg.logger.Warn("releasing a lease acquired too slowly failed; it expires by itself", "error", err)
	}
}

// stopped explains err, returned by a store call under the lease, when the
// lease was lost meanwhile: the call failed because the run's context was
// cancelled, and the cause is what the operator needs to read, not
// "context canceled".
func (h *heldLock) stopped(what string, err error) error {
	cause := context.Cause(h.ctx)
	switch {
	case !errors.Is(cause, ErrLeaseLost):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("lost the run lock while %s: %w", what, cause)
	}
	return fmt.Errorf("lost the run lock while %s: %w (and: %v)", what, cause, err)
}

func (r *Runner) hold(parent context.Context, l audit.Lease, start time.Time) *heldLock {
	ctx, cancel := context.WithCancelCause(parent)
	h := &heldLock{r: r, ctx: ctx, cancel: cancel, auditCtx: context.WithoutCancel(ctx), token: l.Token,
		cur: l, lastOK: start, stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go h.heartbeat()
	return h
}

// margin is how long before the lease's end, as the runner counts it, the
// running change is cancelled: time for the cancellation to reach it.
func (h *heldLock) margin() time.Duration { return h.r.cfg.lockTTL / 10 }

// heartbeat refreshes the lease every third of its TTL, and cancels the
// run's context when the store rejects a refresh or when no refresh has
// succeeded for the whole lease (less a margin), whichever comes first, so
// the change stops before another instance can take the lock. It goes on
// refreshing after the run's own context is cancelled (a shutdown), so a
// change or rollback finishing its work keeps the lock until release.
func (h *heldLock) heartbeat() {
	defer close(h.done)
	ttl := h.r.cfg.lockTTL
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	expire := time.NewTimer(ttl)
	defer expire.Stop()
	for {
		h.mu.Lock()
		paused, deadline := h.paused, h.lastOK.Add(ttl-h.margin())
		h.mu.Unlock()
		if paused {
			expire.Stop()
		} else {
			expire.Reset(time.Until(deadline))
		}
		select {
		case <-h.stop:
			return
		case <-h.wake:
			continue
		case <-expire.C:
			h.lost(fmt.Errorf("no refresh of the lease succeeded for %v", ttl-h.margin()))
			return
		case <-tick.C:
		}
		if paused {
			continue
		}
		if err := h.refresh(deadline); err != nil {
			if errors.Is(err, audit.ErrLockLost) {
				h.lost(err)
				return
			}
			h.r.cfg.logger.Warn("refreshing the run lock failed; retrying", "error", err)
		}
	}
}

// refresh extends the lease once; the request may not outlive deadline.
func (h *heldLock) refresh(deadline time.Time) error {
	attempt := time.Now()
	rctx, cancel := context.WithDeadline(context.WithoutCancel(h.ctx), deadline)
	defer cancel()
	l, err := h.r.cfg.store.RefreshLock(rctx, h.lease(), h.r.cfg.lockTTL)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.cur, h.lastOK = l, attempt
	h.mu.Unlock()
	return nil
}

// pause stops counting the lease down while a transaction that keeps every
// other process from taking the lock is open (see [lockTakeoverBlocker]).
func (h *heldLock) pause() {
	h.mu.Lock()
	h.paused = true
	h.mu.Unlock()
	h.poke()
}

// resume ends a pause. renewedAt is when the transaction renewed the
// lease, as it does when it commits an APPLIED entry: the lease then runs
// from that moment. Zero means it was not renewed (the transaction failed)
// and the lease is confirmed with a refresh before anything else runs; a
// refused refresh loses it.
func (h *heldLock) resume(renewedAt time.Time) {
	if !renewedAt.IsZero() {
		h.mu.Lock()
		h.paused, h.lastOK = false, renewedAt
		h.mu.Unlock()
		h.poke()
		return
	}
	h.mu.Lock()
	h.paused = false
	h.mu.Unlock()
	if err := h.refresh(time.Now().Add(h.r.cfg.lockTTL - h.margin())); err != nil {
		h.lost(fmt.Errorf("after a transaction that held the database: %w", err))
	}
	h.poke()
}

func (h *heldLock) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *heldLock) lost(err error) {
	h.mu.Lock()
	already := h.gone
	h.gone = true
	h.mu.Unlock()
	if already {
		return
	}
	h.r.cfg.logger.Error("run lock lease lost; stopping the run", "error", err)
	h.cancel(fmt.Errorf("%w: %v", ErrLeaseLost, err))
}

// release stops the heartbeat and gives the lock up, even when the run's
// context was cancelled.
func (h *heldLock) release() {
	close(h.stop)
	<-h.done
	h.mu.Lock()
	gone := h.gone
	h.mu.Unlock()
	h.cancel(context.Canceled)
	if gone {
		return
	}
	ctx, cancel := context.WithTimeout(h.auditCtx, 10*time.Second)
	defer cancel()
	if err := h.r.cfg.store.ReleaseLock(ctx, h.lease()); err != nil {
		h.r.cfg.logger.Warn("releasing the run lock failed; it expires by itself", "error", err)
	}
}

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
	done     chan struct{}
	stop     chan struct{}

	mu    sync.Mutex
	cur   audit.Lease
	token int64
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
	for {
		l, err := r.cfg.store.AcquireLock(ctx, owner, r.cfg.lockTTL)
		if err == nil {
			return r.hold(ctx, l), nil
		}
		if !errors.Is(err, audit.ErrLockHeld) {
			return nil, fmt.Errorf("acquiring the run lock: %w", err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			holder := "unknown holder"
			if info, ierr := r.cfg.store.LockInfo(ctx); ierr == nil {
				holder = fmt.Sprintf("held by %s pid %d (run %s) until %s", info.Owner.Host, info.Owner.PID, info.Owner.RunID, info.ExpiresAt.Format(time.RFC3339))
			}
			return nil, fmt.Errorf("%w after %v: %s", ErrLockTimeout, r.cfg.lockWait, holder)
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

func (r *Runner) hold(parent context.Context, l audit.Lease) *heldLock {
	ctx, cancel := context.WithCancelCause(parent)
	h := &heldLock{r: r, ctx: ctx, cancel: cancel, auditCtx: context.WithoutCancel(ctx), cur: l, token: l.Token, done: make(chan struct{}), stop: make(chan struct{})}
	go h.heartbeat()
	return h
}

// heartbeat refreshes the lease every third of its TTL. A refresh that the
// store rejects, or a lease that runs out while refreshes keep failing,
// cancels the run's context. Elapsed time is measured on the monotonic
// clock from the last successful refresh, which started no later than the
// store's expiry clock did, so the runner gives up no later than the store.
func (h *heldLock) heartbeat() {
	defer close(h.done)
	ttl := h.r.cfg.lockTTL
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-h.stop:
			return
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		attempt := time.Now()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), ttl/3)
		l, err := h.r.cfg.store.RefreshLock(rctx, h.lease(), ttl)
		cancel()
		switch {
		case err == nil:
			h.mu.Lock()
			h.cur = l
			h.mu.Unlock()
			lastOK = attempt
		case errors.Is(err, audit.ErrLockLost):
			h.lost(err)
			return
		default:
			h.r.cfg.logger.Warn("refreshing the run lock failed", "error", err)
			if time.Since(lastOK) >= ttl {
				h.lost(err)
				return
			}
		}
	}
}

func (h *heldLock) lost(err error) {
	h.r.cfg.logger.Error("run lock lease lost; stopping the run", "error", err)
	h.cancel(fmt.Errorf("%w: %v", ErrLeaseLost, err))
}

// release stops the heartbeat and gives the lock up, even when the run's
// context was cancelled.
func (h *heldLock) release() {
	close(h.stop)
	<-h.done
	lost := context.Cause(h.ctx)
	h.cancel(context.Canceled)
	if lost != nil && errors.Is(lost, ErrLeaseLost) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), 10*time.Second)
	defer cancel()
	if err := h.r.cfg.store.ReleaseLock(ctx, h.lease()); err != nil {
		h.r.cfg.logger.Warn("releasing the run lock failed; it expires by itself", "error", err)
	}
}

package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// Resolution is what an operator records for a change that has an issue.
type Resolution struct {
	// ChangeID is the change with the issue.
	ChangeID string
	// By names who resolved it (required).
	By string
	// Reason says why (required): what was checked or fixed in the target.
	Reason string
	// LockWait bounds the wait for the run lock: nil waits up to 30s, and
	// a zero duration tries once, as WithLockWait(0) does. It is a pointer
	// so that an operator's explicit 0 (--lock-wait 0s) is not taken for
	// "unset".
	LockWait *time.Duration
}

// MarkApplied records that an operator made sure the change is in place:
// the next run skips it. It appends MANUAL_MARKED_AS_APPLIED under the run
// lock and returns the entry. It needs only the audit store, not the
// application's registry, so operations tools can call it.
//
// It returns an error wrapping [ErrNoIssue] when the change's latest entry
// is not an issue (see [audit.IsIssue]).
func MarkApplied(ctx context.Context, store audit.Store, res Resolution) (audit.Entry, error) {
	return resolve(ctx, store, res, audit.ManualMarkedAsApplied)
}

// MarkRolledBack records that an operator restored the target to its state
// before the change: the next run applies the change again. It appends
// MANUAL_MARKED_AS_ROLLED_BACK; see [MarkApplied] for the rest.
func MarkRolledBack(ctx context.Context, store audit.Store, res Resolution) (audit.Entry, error) {
	return resolve(ctx, store, res, audit.ManualMarkedAsRolledBack)
}

func resolve(ctx context.Context, store audit.Store, res Resolution, state audit.State) (audit.Entry, error) {
	var errs []error
	if res.ChangeID == "" {
		errs = append(errs, errors.New("resolution: change id is empty"))
	}
	if res.By == "" {
		errs = append(errs, errors.New("resolution: who resolved it (By) is empty"))
	}
	if strings.TrimSpace(res.Reason) == "" {
		errs = append(errs, errors.New("resolution: a reason is required"))
	}
	if len(errs) > 0 {
		return audit.Entry{}, errors.Join(errs...)
	}
	wait := 30 * time.Second
	if res.LockWait != nil {
		wait = *res.LockWait
	}
	// A short-lived runner gives resolutions the same lock discipline as
	// runs: the entry is fenced by a lease no run holds at the same time.
	r, err := New(nil, WithAuditStore(store), WithLockWait(wait), WithLockTTL(30*time.Second))
	if err != nil {
		return audit.Entry{}, err
	}
	runID := newRunID()
	l, err := r.acquire(ctx, runID)
	if err != nil {
		return audit.Entry{}, err
	}
	defer l.release()
	snap, err := store.Snapshot(l.ctx)
	if err != nil {
		return audit.Entry{}, l.stopped("reading the audit snapshot", err)
	}
	latest, ok := snap[res.ChangeID]
	if !ok {
		return audit.Entry{}, fmt.Errorf("%w: %q has no audit entries", ErrNoIssue, res.ChangeID)
	}
	if !audit.IsIssue(latest) {
		return audit.Entry{}, fmt.Errorf("%w: the latest state of %q is %s (%s, recovery %s), which the next run handles by itself", ErrNoIssue, res.ChangeID, latest.State, latest.TxStrategy, latest.Recovery)
	}
	e := latest
	e.Seq, e.CreatedAt, e.Duration, e.Error, e.Metadata = 0, time.Time{}, 0, "", nil
	e.RunID, e.State, e.Actor, e.Reason, e.Token = runID, state, res.By, res.Reason, l.token
	e.Host, e.PID, e.ToolVersion = r.host, os.Getpid(), Version
	return store.Append(context.WithoutCancel(l.ctx), e)
}

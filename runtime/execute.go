package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/targets"
)

// auditTimeout bounds each audit write. Writes use the lock's detached
// context, so a cancellation that arrives during the write does not cut it
// short, and this bound, so a dead store does not hang the run.
const auditTimeout = 15 * time.Second

// outcomeRetryBudget bounds how long a run keeps retrying to record the
// outcome of a change that ran outside a transaction, and
// outcomeRetryMaxBackoff caps the wait between two tries. Without that
// entry STARTED stays the latest one, and a change whose outcome the run
// knew becomes an issue; a store that is briefly unreachable (a dropped
// connection, a failover) is worth the wait, a dead one is not.
const (
	outcomeRetryBudget     = 30 * time.Second
	outcomeRetryMaxBackoff = 2 * time.Second
)

// rollbackTimeout bounds a rollback that runs after the run was cancelled
// (a shutdown): it gets a fresh context, since most rollbacks honour theirs
// and would otherwise fail at once and leave an issue behind.
const rollbackTimeout = time.Minute

// execute runs the plan's changes in order under the held lock. It stops at
// the first failure, and before the first blocked change.
func (r *Runner) execute(l *heldLock, rep *Report, p *Plan) error {
	rep.Changes = make([]ChangeResult, 0, len(p.Changes))
	for i := range p.Changes {
		pc := &p.Changes[i]
		res := ChangeResult{Stage: pc.Stage, ChangeID: pc.Change.ID, Action: pc.Action, Reason: pc.Reason, Protocol: pc.Protocol, Drift: pc.Drift}
		switch pc.Action {
		case ActionSkip, ActionIssue, ActionBlocked:
			rep.Changes = append(rep.Changes, res)
			continue
		}
		if err := context.Cause(l.ctx); err != nil {
			r.appendRest(rep, p, i)
			return fmt.Errorf("run stopped before change %q: %w", pc.Change.ID, err)
		}
		if len(r.cfg.listeners) > 0 {
			r.emit(ChangeStarted{RunID: rep.RunID, Stage: pc.Stage, Target: targetID(pc.Change), ChangeID: pc.Change.ID, Action: pc.Action, Protocol: pc.Protocol})
		}
		r.logChangeStarted(rep.RunID, pc)
		a := attempt{r: r, l: l, pc: pc, runID: rep.RunID}
		start := time.Now()
		var err error
		if pc.Action == ActionRecordApplied {
			err = a.recordApplied()
		} else {
			err = a.run()
		}
		res.Duration = time.Since(start)
		res.State, res.Err = a.state, err
		rep.Changes = append(rep.Changes, res)
		if len(r.cfg.listeners) > 0 {
			r.emit(ChangeFinished{RunID: rep.RunID, Target: targetID(pc.Change), Result: res})
		}
		r.logChangeFinished(rep.RunID, pc, res)
		if err != nil {
			r.appendRest(rep, p, i+1)
			return err
		}
	}
	if issues := p.Issues(); len(issues) > 0 {
		return &IssuesError{Issues: issues}
	}
	return nil
}

// appendRest reports the changes a stopped run did not reach as planned
// but not run.
func (r *Runner) appendRest(rep *Report, p *Plan, from int) {
	for _, pc := range p.Changes[from:] {
		rep.Changes = append(rep.Changes, ChangeResult{Stage: pc.Stage, ChangeID: pc.Change.ID, Action: pc.Action, Reason: "not reached: the run stopped earlier", Protocol: pc.Protocol, Drift: pc.Drift})
	}
}

// attempt is one execution of one change.
type attempt struct {
	r     *Runner
	l     *heldLock
	pc    *PlannedChange
	runID string
	start time.Time
	// state is the last state recorded in the audit trail.
	state audit.State
}

func (a *attempt) change() *Change { return a.pc.Change }

func (a *attempt) entry(s audit.State) audit.Entry {
	c := a.change()
	cfg := &a.r.cfg
	e := audit.Entry{
		RunID: a.runID, Stage: a.pc.Stage, ChangeID: c.ID, Author: c.Author, Order: c.Order, State: s,
		TargetID: a.r.targetOf(c).ID(), TxStrategy: a.pc.Protocol, Recovery: string(c.Recovery), Checksum: c.Checksum,
		Host: a.r.host, PID: a.r.pid, ToolVersion: Version, Actor: cfg.service, Metadata: a.r.metadata(), Token: a.l.token,
	}
	if e.Recovery == "" {
		e.Recovery = string(RecoveryManual)
	}
	if !a.start.IsZero() {
		e.Duration = time.Since(a.start)
	}
	return e
}

func (r *Runner) metadata() map[string]string {
	if len(r.cfg.metadata) == 0 && r.cfg.service == "" {
		return nil
	}
	m := make(map[string]string, len(r.cfg.metadata)+2)
	for k, v := range r.cfg.metadata {
		m[k] = v
	}
	if r.cfg.service != "" {
		m["service"] = r.cfg.service
	}
	if r.cfg.version != "" {
		m["service_version"] = r.cfg.version
	}
	return m
}

// record appends an entry with a context that survives the run's
// cancellation, so a change interrupted by a shutdown is still recorded, but
// is bounded, so a store that hangs cannot hold the run (and its lock)
// forever.
func (a *attempt) record(e audit.Entry) error {
	return a.recordBy(e, time.Now().Add(auditTimeout))
}

func (a *attempt) recordBy(e audit.Entry, deadline time.Time) error {
	if d := time.Now().Add(auditTimeout); d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(a.l.auditCtx, deadline)
	defer cancel()
	if _, err := a.r.cfg.store.Append(ctx, e); err != nil {
		return fmt.Errorf("recording %s for %q: %w", e.State, e.ChangeID, err)
	}
	a.state = e.State
	return nil
}

// recordOutcome records the outcome of a change that ran outside a
// transaction, retrying a failed append with capped exponential backoff
// for at most [outcomeRetryBudget]. It gives up at once when retrying
// cannot help: the store fenced the write or is closed, or the lease is
// lost (another instance may hold the lock; its writes would be fenced).
// A shutdown does not stop it: the outcome must land if it can. A retry
// after an append whose reply was lost may record the outcome twice, which
// changes nothing: the latest entry is the same.
func (a *attempt) recordOutcome(e audit.Entry) error {
	deadline := time.Now().Add(outcomeRetryBudget)
	backoff := 50 * time.Millisecond
	stop := a.l.ctx.Done()
	for tries := 1; ; tries++ {
		err := a.recordBy(e, deadline)
		if err == nil {
			return nil
		}
		if errors.Is(err, audit.ErrFenced) || errors.Is(err, audit.ErrClosed) || errors.Is(context.Cause(a.l.ctx), ErrLeaseLost) {
			return err
		}
		wait := min(backoff, time.Until(deadline))
		if wait <= 0 {
			return fmt.Errorf("%w (gave up after %d tries in %v)", err, tries, outcomeRetryBudget)
		}
		a.r.cfg.logger.Warn("recording a change's outcome failed; retrying", "change", e.ChangeID, "state", e.State, "try", tries, "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			if errors.Is(context.Cause(a.l.ctx), ErrLeaseLost) {
				return fmt.Errorf("%w (not retried: %w)", err, context.Cause(a.l.ctx))
			}
			stop = nil // a shutdown: keep trying until the budget is spent
		}
		backoff = min(2*backoff, outcomeRetryMaxBackoff)
	}
}

func (a *attempt) fail(apply, rollback, auditErr error) *RunError {
	return &RunError{Stage: a.pc.Stage, ChangeID: a.change().ID, Source: a.change().Source, State: a.state,
		Apply: apply, Rollback: rollback, Audit: auditErr, Interrupted: context.Cause(a.l.ctx)}
}

func (a *attempt) run() error {
	switch a.pc.Protocol {
	case audit.TxShared:
		return a.runShared()
	case audit.TxSeparateWithMarker:
		return a.runSeparate()
	default:
		return a.runNonTx()
	}
}

func (a *attempt) recordApplied() error {
	e := a.entry(audit.Applied)
	e.Reason = "recovered: " + a.pc.Reason
	if err := a.record(e); err != nil {
		return a.fail(nil, nil, err)
	}
	return nil
}

// runShared: BEGIN; apply; append APPLIED inside the transaction; COMMIT.
// The change and its audit entry commit together or not at all.
func (a *attempt) runShared() error {
	tt := a.r.targetOf(a.change()).(targets.Transactional)
	appendTx := a.r.sharedAppend[tt.ID()]
	ctx := a.l.ctx
	a.start = time.Now()
	tx, err := tt.Begin(ctx)
	if err != nil {
		return a.failed(fmt.Errorf("beginning a transaction on %q: %w", tt.ID(), err))
	}
	// While a transaction that holds the lock's database is open, the
	// heartbeat is paused; the APPLIED append renews the lease inside the
	// transaction, so after a commit the heartbeat resumes from the time of
	// that append, and otherwise with a refresh.
	paused := false
	if b, ok := tx.(lockTakeoverBlocker); ok && b.BlocksLockTakeover() {
		a.l.pause()
		paused = true
	}
	var appendAt, renewedAt time.Time
	resume := func() {
		if paused {
			paused = false
			a.l.resume(renewedAt)
		}
	}
	defer resume()
	defer rollbackOnPanic(ctx, tx)
	deps := targets.NewDeps(a.r.cfg.deps)
	tx.Provide(deps)
	err = a.change().Apply.Call(ctx, deps)
	if err == nil {
		appendAt = time.Now()
		_, err = appendTx(ctx, tx, a.entry(audit.Applied))
		if err != nil {
			err = fmt.Errorf("recording APPLIED in the change's transaction: %w", err)
		}
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		resume()
		return a.failed(err)
	}
	if err := tx.Commit(ctx); err != nil {
		// A failed commit can still have committed (the reply was lost).
		// The APPLIED entry is in the same transaction, so the store knows;
		// when it cannot be asked, nothing is written: FAILED on top of a
		// committed APPLIED would make the next run apply the change again,
		// while without it the next run decides from what did commit.
		resume()
		committed, rerr := a.committedShared()
		switch {
		case rerr != nil:
			return a.fail(fmt.Errorf("commit outcome unknown (the next run decides from the audit trail): %w", err), nil, rerr)
		case committed:
			a.state = audit.Applied
			return nil
		}
		return a.failed(fmt.Errorf("committing: %w", err))
	}
	renewedAt = appendAt
	a.state = audit.Applied
	return nil
}

func (a *attempt) committedShared() (bool, error) {
	ctx, cancel := context.WithTimeout(a.l.auditCtx, auditTimeout)
	defer cancel()
	snap, err := a.r.cfg.store.Snapshot(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the audit snapshot after a failed commit: %w", err)
	}
	e, ok := snap[a.change().ID]
	return ok && e.RunID == a.runID && e.State == audit.Applied, nil
}

// failed records FAILED for an attempt whose effects were rolled back (or
// never happened) and returns the run error.
//
// A cause that matches [targets.ErrNotAtomic] left effects outside the
// transaction, which the rollback could not undo: it is recorded as
// non-transactional, so the decision table treats it as what it is (an
// issue under manual recovery) rather than as rolled back, which would have
// the next run apply the change again.
func (a *attempt) failed(cause error) error {
	e := a.entry(audit.Failed)
	e.Error = cause.Error()
	if errors.Is(cause, targets.ErrNotAtomic) {
		e.TxStrategy = audit.NonTx
	}
	return a.fail(cause, nil, a.record(e))
}

// runSeparate: STARTED; BEGIN on the target; apply; write the commit
// marker; COMMIT; APPLIED. The marker lets the next run tell a commit whose
// APPLIED entry was lost from a transaction that never committed.
func (a *attempt) runSeparate() error {
	tt := a.r.targetOf(a.change()).(targets.Transactional)
	ctx := a.l.ctx
	since := a.pc.markerBaseline + 1
	a.start = time.Now()
	if err := a.record(a.entry(audit.Started)); err != nil {
		return a.fail(nil, nil, err)
	}
	tx, err := tt.Begin(ctx)
	if err != nil {
		return a.failed(fmt.Errorf("beginning a transaction on %q: %w", tt.ID(), err))
	}
	defer rollbackOnPanic(ctx, tx)
	deps := targets.NewDeps(a.r.cfg.deps)
	tx.Provide(deps)
	err = a.change().Apply.Call(ctx, deps)
	if err == nil {
		err = tx.WriteMarker(ctx, targets.Marker{ChangeID: a.change().ID, RunID: a.runID, Token: a.l.token}, since)
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if conflict, ok := errors.AsType[*targets.MarkerConflictError](err); ok {
			// Someone else committed this change after we planned: ours is
			// rolled back and theirs stands.
			e := a.entry(audit.Applied)
			e.Reason = "recovered: " + conflict.Error()
			if rerr := a.record(e); rerr != nil {
				return a.fail(nil, nil, rerr)
			}
			return nil
		}
		return a.failed(err)
	}
	if err := tx.Commit(ctx); err != nil {
		m, found, merr := tt.ReadMarker(a.l.auditCtx, a.change().ID)
		switch {
		case merr != nil:
			// Unknown outcome: STARTED stays the latest entry and the next
			// run decides from the marker.
			return a.fail(fmt.Errorf("commit outcome unknown (the next run decides from the commit marker): %w", err), nil, merr)
		case !found || m.Token != a.l.token || m.RunID != a.runID:
			return a.failed(fmt.Errorf("committing: %w", err))
		}
	}
	if err := a.record(a.entry(audit.Applied)); err != nil {
		// The change committed; its marker lets the next run record it.
		return a.fail(nil, nil, err)
	}
	return nil
}

// runNonTx: STARTED; apply; APPLIED, or on failure the rollback function
// and ROLLED_BACK / ROLLBACK_FAILED, or FAILED without one. The outcome is
// recorded with retries: the change's effects are in the target, and
// nothing but the entry tells the next run what they are.
func (a *attempt) runNonTx() error {
	t := a.r.targetOf(a.change())
	ctx := a.l.ctx
	a.start = time.Now()
	if err := a.record(a.entry(audit.Started)); err != nil {
		return a.fail(nil, nil, err)
	}
	deps := targets.NewDeps(a.r.cfg.deps)
	t.Provide(deps)
	applyErr := a.change().Apply.Call(ctx, deps)
	if applyErr == nil {
		if err := a.recordOutcome(a.entry(audit.Applied)); err != nil {
			return a.fail(nil, nil, err)
		}
		return nil
	}
	if isNilFunc(a.change().Rollback) {
		e := a.entry(audit.Failed)
		e.Error = applyErr.Error()
		return a.fail(applyErr, nil, a.recordOutcome(e))
	}
	rbErr := a.rollback(deps)
	var e audit.Entry
	if rbErr == nil {
		e = a.entry(audit.RolledBack)
		e.Error = applyErr.Error()
	} else {
		e = a.entry(audit.RollbackFailed)
		e.Error = fmt.Sprintf("apply: %v; rollback: %v", applyErr, rbErr)
	}
	return a.fail(applyErr, rbErr, a.recordOutcome(e))
}

// rollback runs the change's rollback function. After a lost lease it does
// not run: another instance may hold the lock and be working on the target,
// and the change's STARTED entry already leaves it to an operator or to a
// retry. After a shutdown it runs with a fresh, bounded context.
func (a *attempt) rollback(deps *targets.Deps) error {
	ctx := a.l.ctx
	if cause := context.Cause(ctx); cause != nil {
		if errors.Is(cause, ErrLeaseLost) {
			return fmt.Errorf("rollback not run: %w", cause)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(a.l.auditCtx, rollbackTimeout)
		defer cancel()
	}
	return a.change().Rollback.Call(ctx, deps)
}

// rollbackOnPanic rolls tx back when a change panics, then lets the panic
// go on: an application that recovers panics (a server, a job runner) must
// not be left with an open transaction on the target (writes staged, a
// producer stuck in a transaction, a connection held).
func rollbackOnPanic(ctx context.Context, tx targets.Tx) {
	if p := recover(); p != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		panic(p)
	}
}

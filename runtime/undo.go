package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/targets"
)

// ActionUndo is a change an undo rolls back with its declared rollback.
const ActionUndo Action = "undo"

// ErrUndoRefused is wrapped by the *[UndoRefusedError] that [Runner.Undo]
// and [Runner.PlanUndo] return when the undo cannot be done safely.
var ErrUndoRefused = errors.New("undo refused")

// UndoOptions says which applied changes [Runner.Undo] rolls back. Set
// exactly one of To and Last.
type UndoOptions struct {
	// To undoes every applied change declared after the change with this
	// id, in reverse order; the change To itself stays applied (goose's
	// down-to). To undo the first change, use Last.
	To string
	// Last undoes the last Last applied changes, in reverse order.
	Last int
	// Actor is who asks for the undo, recorded in each entry; empty means
	// the runner's service name.
	Actor string
	// Why is recorded after "undo: " in each entry's reason.
	Why string
	// Confirmed, when not nil, is the list of change ids, in undo order,
	// that an operator confirmed from [Runner.PlanUndo]. Undo refuses
	// unless, planned again under the lock, it would undo exactly these:
	// a run or another undo between the plan and the confirmation must
	// not change what gets undone.
	Confirmed []string
}

func (o UndoOptions) validate() error {
	switch {
	case o.To != "" && o.Last != 0:
		return errors.New("undo: set either To (--to) or Last (--last), not both")
	case o.Last < 0:
		return fmt.Errorf("undo: Last (--last) is %d; want a positive number of changes", o.Last)
	case o.To == "" && o.Last == 0:
		return errors.New("undo: say what to undo: To (--to ID) or Last (--last N)")
	}
	return nil
}

func (o UndoOptions) reason() string {
	if o.Why == "" {
		return audit.ReasonUndo
	}
	return audit.ReasonUndo + ": " + o.Why
}

// UndoPlan is what an undo would do: the changes it rolls back, in the
// order it rolls them back (reverse pipeline order), or why it refuses.
type UndoPlan struct {
	// Changes are the applied changes to undo, last applied first. Latest
	// is each change's applied entry; Protocol the protocol its rollback
	// runs under.
	Changes []PlannedChange
	// Refusals lists every reason the undo cannot be done; an undo with
	// refusals touches nothing.
	Refusals []string
}

// Err returns an *[UndoRefusedError] when the plan has refusals.
func (p *UndoPlan) Err() error {
	if len(p.Refusals) == 0 {
		return nil
	}
	return &UndoRefusedError{Problems: p.Refusals}
}

// UndoRefusedError lists every reason an undo was refused. Nothing was
// undone. It wraps [ErrUndoRefused].
type UndoRefusedError struct {
	Problems []string
}

func (e *UndoRefusedError) Error() string {
	return fmt.Sprintf("undo refused, nothing was undone (%d problem(s)):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Unwrap returns [ErrUndoRefused].
func (e *UndoRefusedError) Unwrap() error { return ErrUndoRefused }

// PlanUndo reports what [Runner.Undo] would do now, without locking,
// writing or touching any target: the changes it would roll back, in order,
// and every reason it would refuse. An undo interrupted under the
// commit-marker protocol shows as a refusal here: settling it needs its
// marker, which only a run or an undo (under the lock) reads.
func (r *Runner) PlanUndo(ctx context.Context, opts UndoOptions) (*UndoPlan, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := r.validatePipeline(); err != nil {
		return nil, err
	}
	v, err := audit.ReadView(ctx, r.cfg.store)
	if err != nil {
		return nil, err
	}
	return r.planUndo(v.Snapshot, &v, opts), nil
}

// Undo rolls back applied changes with their declared rollback functions,
// last applied first, under the run lock: with To, every applied change
// declared after To; with Last, the last Last applied changes. Each
// change's rollback runs under the protocol its apply would (see
// docs/protocols.md), and its entries carry the reason "undo". Afterwards
// the changes are pending again: the next [Runner.Run] applies them.
//
// Undo refuses before touching anything, listing every offender, when a
// change in the range has no rollback, when a change in the range is not
// settled (an issue, a change being applied, an unfinished attempt), or
// when the audit holds an applied change this pipeline does not declare
// (applied by a newer binary). The error is then an *[UndoRefusedError].
// A failed rollback stops the undo there, with a *[RunError]; the changes
// undone before it stay undone. The report lists one result per change
// undone or reached.
func (r *Runner) Undo(ctx context.Context, opts UndoOptions) (*Report, error) {
	rep := &Report{RunID: newRunID(), Started: time.Now(), Total: r.count}
	err := r.undo(ctx, rep, opts)
	rep.Finished = time.Now()
	r.emit(RunFinished{Report: rep, Err: err})
	r.logUndoFinished(rep, err)
	return rep, err
}

// logUndoFinished logs an undo's outcome: each change it rolled back, and
// the summary or the error.
func (r *Runner) logUndoFinished(rep *Report, err error) {
	if err != nil {
		r.cfg.logger.Error("flamingock: undo failed", "run_id", rep.RunID, "undone", rep.Count(ActionUndo)-failedCount(rep), "error", err)
		return
	}
	if !r.infoEnabled {
		return
	}
	for _, c := range rep.Changes {
		r.cfg.logger.Info("flamingock: change undone", "run_id", rep.RunID, "change", c.ChangeID, "stage", c.Stage,
			"protocol", string(c.Protocol), "state", string(c.State), "duration", c.Duration)
	}
	r.cfg.logger.Info("flamingock: undo finished", "run_id", rep.RunID, "undone", len(rep.Changes), "duration", rep.Finished.Sub(rep.Started))
}

func failedCount(rep *Report) int {
	n := 0
	for _, c := range rep.Changes {
		if c.Err != nil {
			n++
		}
	}
	return n
}

func (r *Runner) undo(ctx context.Context, rep *Report, opts UndoOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	if err := r.validatePipeline(); err != nil {
		return err
	}
	r.emit(RunStarted{RunID: rep.RunID})
	lockStart := time.Now()
	l, err := r.acquire(ctx, rep.RunID)
	if err != nil {
		return err
	}
	defer l.release()
	r.emit(LockAcquired{Lease: l.lease()})
	r.logLockAcquired(rep.RunID, l.lease(), time.Since(lockStart))
	snap, err := r.cfg.store.Snapshot(l.ctx)
	if err != nil {
		return l.stopped("reading the audit snapshot", err)
	}
	if snap, err = r.settleUndos(l, rep.RunID, snap); err != nil {
		return err
	}
	up := r.planUndo(snap, nil, opts)
	if opts.Confirmed != nil {
		var got []string
		for _, pc := range up.Changes {
			got = append(got, pc.Change.ID)
		}
		if !slices.Equal(got, opts.Confirmed) {
			up.Refusals = append(up.Refusals, fmt.Sprintf("the changes to undo are now [%s], not the confirmed [%s]: the audit changed since the plan; plan and confirm again",
				strings.Join(got, " "), strings.Join(opts.Confirmed, " ")))
		}
	}
	if err := up.Err(); err != nil {
		return err
	}
	if problems := r.undoWiring(up); len(problems) > 0 {
		return &DependencyError{Problems: problems}
	}
	actor := opts.Actor
	if actor == "" {
		actor = r.cfg.service
	}
	rep.Changes = make([]ChangeResult, 0, len(up.Changes))
	for i := range up.Changes {
		pc := &up.Changes[i]
		res := ChangeResult{Stage: pc.Stage, ChangeID: pc.Change.ID, Action: ActionUndo, Reason: pc.Reason, Protocol: pc.Protocol}
		if err := context.Cause(l.ctx); err != nil {
			return fmt.Errorf("undo stopped before change %q: %w", pc.Change.ID, err)
		}
		if len(r.cfg.listeners) > 0 {
			r.emit(ChangeStarted{Stage: pc.Stage, ChangeID: pc.Change.ID, Action: ActionUndo, Protocol: pc.Protocol})
		}
		u := undoAttempt{attempt: attempt{r: r, l: l, pc: pc, runID: rep.RunID}, reason: opts.reason(), actor: actor}
		start := time.Now()
		err := u.run()
		res.Duration = time.Since(start)
		res.State, res.Err = u.state, err
		rep.Changes = append(rep.Changes, res)
		if len(r.cfg.listeners) > 0 {
			r.emit(ChangeFinished{Result: res})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// planUndo picks the changes to undo from a snapshot and collects every
// reason to refuse. view is what a plan made without the lock read, nil
// under the lock.
func (r *Runner) planUndo(snap audit.Snapshot, view *audit.View, opts UndoOptions) *UndoPlan {
	up := &UndoPlan{}
	type declared struct {
		stage string
		c     *Change
	}
	var all []declared
	known := make(map[string]bool, r.count)
	for si := range r.pipeline {
		for ci := range r.pipeline[si].Changes {
			c := &r.pipeline[si].Changes[ci]
			all = append(all, declared{r.pipeline[si].Name, c})
			known[c.ID] = true
		}
	}
	standing := func(e audit.Entry) audit.Standing {
		if view != nil {
			return view.Standing(e)
		}
		return audit.Classify(e, nil)
	}
	applied := func(id string) bool {
		e, ok := snap[id]
		return ok && audit.IsAppliedState(e.State) && standing(e) == audit.StandingFinal
	}

	// Changes this binary does not declare but the audit says may be in
	// place: undoing "down to" a point below them would leave them on top
	// of changes undone beneath them.
	var unknown []audit.Entry
	for id, e := range snap {
		if known[id] || e.State == audit.RolledBack || e.State == audit.ManualMarkedAsRolledBack {
			continue
		}
		if st := standing(e); st == audit.StandingRecoverable && e.TxStrategy == audit.TxShared {
			continue // its transaction never committed: not in place
		}
		unknown = append(unknown, e)
	}
	slices.SortFunc(unknown, func(a, b audit.Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, e := range unknown {
		up.Refusals = append(up.Refusals, fmt.Sprintf("change %q is %s in the audit (run %s, seq %d) but this binary does not declare it: a newer release wrote it and it may be in place; undo with a binary that has it", e.ChangeID, e.State, e.RunID, e.Seq))
	}

	from := len(all)
	switch {
	case opts.To != "":
		i := slices.IndexFunc(all, func(d declared) bool { return d.c.ID == opts.To })
		if i < 0 {
			up.Refusals = append(up.Refusals, fmt.Sprintf("--to %q: no change with this id in the pipeline", opts.To))
			return up
		}
		from = i + 1
	default:
		n := 0
		for from > 0 && n < opts.Last {
			from--
			if applied(all[from].c.ID) {
				n++
			}
		}
		if n < opts.Last {
			up.Refusals = append(up.Refusals, fmt.Sprintf("--last %d: only %d change(s) are applied", opts.Last, n))
		}
	}
	for i := len(all) - 1; i >= from; i-- {
		d := all[i]
		c := d.c
		e, ok := snap[c.ID]
		if !ok {
			continue // never applied: nothing to undo
		}
		switch st := standing(e); {
		case st == audit.StandingIssue:
			up.Refusals = append(up.Refusals, fmt.Sprintf("%s: change %q is an issue (%s): %s; resolve it first (the operations CLI's `audit fix --change %s`)", c.Source, c.ID, e.State, audit.IssueReason(e), c.ID))
			continue
		case st == audit.StandingRunning:
			up.Refusals = append(up.Refusals, fmt.Sprintf("%s: change %q is being applied by run %s now", c.Source, c.ID, e.RunID))
			continue
		case st == audit.StandingRecoverable && e.TxStrategy == audit.TxShared:
			continue // its transaction never committed: not applied
		case st == audit.StandingRecoverable:
			what := "attempt"
			if e.IsUndo() {
				what = "undo"
			}
			up.Refusals = append(up.Refusals, fmt.Sprintf("%s: change %q: its last %s left %s (%s) and may be in place: run the pipeline (or undo under the lock) to settle it first", c.Source, c.ID, what, e.State, e.TxStrategy))
			continue
		case !audit.IsAppliedState(e.State):
			continue // rolled back: nothing to undo
		}
		if isNilFunc(c.Rollback) {
			up.Refusals = append(up.Refusals, fmt.Sprintf("%s: change %q has no rollback function (declare one with //flamingock:rollback)", c.Source, c.ID))
			continue
		}
		latest := e
		up.Changes = append(up.Changes, PlannedChange{Stage: d.stage, Change: c, Action: ActionUndo, Latest: &latest,
			Protocol: r.protocolOf(c), Reason: "applied by run " + e.RunID + "; rolled back by its rollback function"})
	}
	return up
}

// undoWiring checks that every rollback to run has its target and the
// parameters it needs.
func (r *Runner) undoWiring(up *UndoPlan) []string {
	p := &Plan{Changes: make([]PlannedChange, len(up.Changes))}
	for i, pc := range up.Changes {
		c := *pc.Change
		// A change whose Apply is nil reports Needs: the rollback's.
		c.Apply, c.Needs = nil, c.Rollback.Needs()
		if c.Needs == nil {
			c.Needs = []reflect.Type{}
		}
		pc.Change, pc.Action = &c, ActionApply
		p.Changes[i] = pc
	}
	return r.wiringProblems(p, ActionApply)
}

// undoAttempt is the undo of one change: the protocols of docs/protocols.md
// with the rollback function in the place of the change, and entries that
// carry [audit.ReasonUndo].
type undoAttempt struct {
	attempt
	reason, actor string
}

// entry is the attempt's entry with the undo's reason and actor, and the
// checksum the change was applied with (an undo does not re-record drift).
func (u *undoAttempt) entry(s audit.State) audit.Entry {
	e := u.attempt.entry(s)
	e.Reason = u.reason
	if u.actor != "" {
		e.Actor = u.actor
	}
	e.Checksum = u.pc.Latest.Checksum
	return e
}

// undoFailed records, after a transactional rollback that did not commit,
// that the change is still applied: APPLIED with the undo's reason and the
// error. FAILED would tell the next run that the change is not in place.
func (u *undoAttempt) undoFailed(cause error) error {
	e := u.entry(audit.Applied)
	e.Error = "undo failed: " + cause.Error()
	return u.fail(fmt.Errorf("undoing it: %w", cause), nil, u.record(e))
}

func (u *undoAttempt) run() error {
	switch u.pc.Protocol {
	case audit.TxShared:
		return u.runShared()
	case audit.TxSeparateWithMarker:
		return u.runSeparate()
	default:
		return u.runNonTx()
	}
}

// runShared: BEGIN; rollback; append ROLLED_BACK inside the transaction;
// COMMIT. The undo and its entry commit together or not at all.
func (u *undoAttempt) runShared() error {
	tt := u.r.targetOf(u.change()).(targets.Transactional)
	appendTx, _ := tt.SharedAudit(u.r.cfg.store)
	ctx := u.l.ctx
	u.start = time.Now()
	tx, err := tt.Begin(ctx)
	if err != nil {
		return u.undoFailed(fmt.Errorf("beginning a transaction on %q: %w", tt.ID(), err))
	}
	// As in apply: a transaction holding the lock's database pauses the
	// heartbeat, and the entry appended inside it renews the lease.
	paused := false
	if b, ok := tx.(lockTakeoverBlocker); ok && b.BlocksLockTakeover() {
		u.l.pause()
		paused = true
	}
	var appendAt, renewedAt time.Time
	resume := func() {
		if paused {
			paused = false
			u.l.resume(renewedAt)
		}
	}
	defer resume()
	defer rollbackOnPanic(ctx, tx)
	deps := targets.NewDeps(u.r.cfg.deps)
	tx.Provide(deps)
	err = u.change().Rollback.Call(ctx, deps)
	if err == nil {
		appendAt = time.Now()
		if _, err = appendTx(ctx, tx, u.entry(audit.RolledBack)); err != nil {
			err = fmt.Errorf("recording ROLLED_BACK in the undo's transaction: %w", err)
		}
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		resume()
		return u.undoFailed(err)
	}
	if err := tx.Commit(ctx); err != nil {
		resume()
		committed, rerr := u.committedShared()
		switch {
		case rerr != nil:
			return u.fail(fmt.Errorf("undo commit outcome unknown (the audit trail says which): %w", err), nil, rerr)
		case committed:
			u.state = audit.RolledBack
			return nil
		}
		return u.undoFailed(fmt.Errorf("committing: %w", err))
	}
	renewedAt = appendAt
	u.state = audit.RolledBack
	return nil
}

func (u *undoAttempt) committedShared() (bool, error) {
	ctx, cancel := context.WithTimeout(u.l.auditCtx, auditTimeout)
	defer cancel()
	snap, err := u.r.cfg.store.Snapshot(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the audit snapshot after a failed commit: %w", err)
	}
	e, ok := snap[u.change().ID]
	return ok && e.RunID == u.runID && e.State == audit.RolledBack, nil
}

// runSeparate: STARTED; BEGIN on the target; rollback; write the commit
// marker; COMMIT; ROLLED_BACK. The marker, with the undo's run id and
// token, lets the next run or undo tell an undo that committed from one
// that did not (see [Runner.settleUndos]).
func (u *undoAttempt) runSeparate() error {
	tt := u.r.targetOf(u.change()).(targets.Transactional)
	ctx := u.l.ctx
	// The applied entry is settled: its token is the baseline, and the
	// apply's marker carries it, so the undo's marker replaces it.
	since := u.pc.Latest.Token + 1
	u.start = time.Now()
	if err := u.record(u.entry(audit.Started)); err != nil {
		return u.fail(nil, nil, err)
	}
	tx, err := tt.Begin(ctx)
	if err != nil {
		return u.undoFailed(fmt.Errorf("beginning a transaction on %q: %w", tt.ID(), err))
	}
	defer rollbackOnPanic(ctx, tx)
	deps := targets.NewDeps(u.r.cfg.deps)
	tx.Provide(deps)
	err = u.change().Rollback.Call(ctx, deps)
	if err == nil {
		err = tx.WriteMarker(ctx, targets.Marker{ChangeID: u.change().ID, RunID: u.runID, Token: u.l.token}, since)
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		// A marker conflict means another attempt committed the change's
		// apply since: it is applied, which is what undoFailed records.
		return u.undoFailed(err)
	}
	if err := tx.Commit(ctx); err != nil {
		m, found, merr := tt.ReadMarker(u.l.auditCtx, u.change().ID)
		switch {
		case merr != nil:
			return u.fail(fmt.Errorf("undo commit outcome unknown (the next run or undo decides from the commit marker): %w", err), nil, merr)
		case !found || m.Token != u.l.token || m.RunID != u.runID:
			return u.undoFailed(fmt.Errorf("committing: %w", err))
		}
	}
	if err := u.record(u.entry(audit.RolledBack)); err != nil {
		return u.fail(nil, nil, err)
	}
	return nil
}

// runNonTx: STARTED; rollback; ROLLED_BACK, or ROLLBACK_FAILED with the
// error. The outcome is recorded with retries, as a non-transactional
// change's is. A STARTED or ROLLBACK_FAILED left behind is an issue under
// recovery manual; under retry the next run applies the change again.
func (u *undoAttempt) runNonTx() error {
	t := u.r.targetOf(u.change())
	u.start = time.Now()
	if err := u.record(u.entry(audit.Started)); err != nil {
		return u.fail(nil, nil, err)
	}
	deps := targets.NewDeps(u.r.cfg.deps)
	t.Provide(deps)
	rbErr := u.change().Rollback.Call(u.l.ctx, deps)
	if rbErr == nil {
		if err := u.recordOutcome(u.entry(audit.RolledBack)); err != nil {
			return u.fail(nil, nil, err)
		}
		return nil
	}
	e := u.entry(audit.RollbackFailed)
	e.Error = "undo: rollback: " + rbErr.Error()
	return u.fail(nil, fmt.Errorf("undoing it: %w", rbErr), u.recordOutcome(e))
}

// settleUndos finishes the audit of undos interrupted under the
// commit-marker protocol, whose latest entry is their STARTED: the marker
// written by the undo's own run and token proves the undo committed, and
// ROLLED_BACK is recorded (the change is pending again); no marker above
// the applied entry's token proves it did not, and APPLIED is recorded. A
// marker above it from another attempt is left to the decision table
// (an apply committed). It runs under the lock, before a run or an undo
// plans, and returns the snapshot to plan from.
func (r *Runner) settleUndos(l *heldLock, runID string, snap audit.Snapshot) (audit.Snapshot, error) {
	settled := false
	for _, e := range snap {
		if e.State != audit.Started || e.TxStrategy != audit.TxSeparateWithMarker || !e.IsUndo() {
			continue
		}
		c, stage := r.declared(e.ChangeID)
		if c == nil {
			continue // not ours: planning refuses or ignores it
		}
		tt, ok := r.targetOf(c).(targets.Transactional)
		if !ok {
			continue
		}
		m, found, err := tt.ReadMarker(l.ctx, c.ID)
		if err != nil {
			return nil, l.stopped(fmt.Sprintf("reading the commit marker of %q on target %q", c.ID, tt.ID()), err)
		}
		base, err := r.markerBaseline(l.ctx, c.ID, &e)
		if err != nil {
			return nil, l.stopped("reading a change's history", err)
		}
		latest := e
		pc := &PlannedChange{Stage: stage, Change: c, Protocol: e.TxStrategy, Latest: &latest}
		a := attempt{r: r, l: l, pc: pc, runID: runID}
		var out audit.Entry
		switch {
		case found && m.Token > base && (m.RunID != e.RunID || m.Token != e.Token):
			continue
		case found && m.Token > base:
			out = a.entry(audit.RolledBack)
			out.Reason = fmt.Sprintf("%s; recovered: the commit marker of run %s proves the interrupted undo committed", audit.ReasonUndo, m.RunID)
		default:
			out = a.entry(audit.Applied)
			out.Reason = fmt.Sprintf("%s; recovered: no commit marker of run %s: the interrupted undo did not commit", audit.ReasonUndo, e.RunID)
		}
		out.Checksum, out.Actor = e.Checksum, e.Actor
		if err := a.record(out); err != nil {
			return nil, err
		}
		settled = true
	}
	if !settled {
		return snap, nil
	}
	snap, err := r.cfg.store.Snapshot(l.ctx)
	if err != nil {
		return nil, l.stopped("reading the audit snapshot", err)
	}
	return snap, nil
}

// declared returns the change with id id and its stage's name, or nil.
func (r *Runner) declared(id string) (*Change, string) {
	for si := range r.pipeline {
		for ci := range r.pipeline[si].Changes {
			if r.pipeline[si].Changes[ci].ID == id {
				return &r.pipeline[si].Changes[ci], r.pipeline[si].Name
			}
		}
	}
	return nil, ""
}

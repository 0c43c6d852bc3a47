package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/targets"
)

// Action is what a run decides to do with a change.
type Action string

// The actions of the decision table (docs/protocols.md).
const (
	// ActionApply runs the change.
	ActionApply Action = "apply"
	// ActionSkip leaves an applied change alone.
	ActionSkip Action = "skip"
	// ActionRecordApplied records APPLIED without running the change: its
	// commit marker proves that an earlier attempt committed.
	ActionRecordApplied Action = "record-applied"
	// ActionIssue means the change needs manual intervention; its stage and
	// every later stage are blocked.
	ActionIssue Action = "issue"
	// ActionBlocked is a change that would run but sits in or after a
	// stage with an issue.
	ActionBlocked Action = "blocked"
	// ActionRunning is a change another run is applying right now: its
	// latest entry is STARTED by the run that holds the lock. Only a plan
	// made without the lock ([Runner.Plan]) has it; a run that takes the
	// lock decides again.
	ActionRunning Action = "running"
)

// Plan is what a run would do, change by change, in pipeline order.
type Plan struct {
	Changes []PlannedChange

	wiring []string // see Wiring
}

// PlannedChange is the decision for one change.
type PlannedChange struct {
	Stage  string
	Change *Change
	Action Action
	// Reason explains the decision.
	Reason string
	// Latest is the change's latest audit entry; nil when it has none.
	Latest *audit.Entry
	// Protocol is the protocol the change runs under if applied; empty
	// when its target is not registered, which decides it (the plan's
	// wiring problems say so). Run refuses such a change before it starts.
	Protocol audit.TxStrategy
	// Drift is set for an applied change whose checksum changed.
	Drift bool

	// markerBaseline is the token of the change's last settled entry (see
	// [Runner.markerBaseline]); set when the run may read or write its
	// commit marker.
	markerBaseline int64
	baselineRead   bool
}

// Pending reports whether the plan has anything to do or to resolve.
func (p *Plan) Pending() bool {
	for _, c := range p.Changes {
		if c.Action != ActionSkip {
			return true
		}
	}
	return false
}

// Issues returns the changes that need manual intervention.
func (p *Plan) Issues() []Issue {
	var out []Issue
	for _, c := range p.Changes {
		if c.Action == ActionIssue {
			out = append(out, Issue{Stage: c.Stage, Latest: *c.Latest})
		}
	}
	return out
}

// decide is the decision table: what to do with a change given its latest
// entry and, for a plan made without the lock, the view it was read in
// (nil for a run, which holds the lock). Whether a
// change is an issue is [audit.Classify]'s to say. decide needs the target
// only for the commit marker of an attempt that ran under the
// separate-transaction protocol, and reads it only when readMarkers is set:
// a dry run must have no effects, and reading a marker is not free of them
// on every target (Kafka's fences a producer).
func (r *Runner) decide(ctx context.Context, pc *PlannedChange, view *audit.View, readMarkers bool) (Action, string, error) {
	l := pc.Latest
	if l == nil {
		return ActionApply, "never applied", nil
	}
	standing, lease := audit.Classify(*l, nil), (*audit.LockInfo)(nil)
	if view != nil {
		standing, lease = view.Standing(*l), view.RunningLease(*l)
	}
	switch standing {
	case audit.StandingIssue:
		return ActionIssue, audit.IssueReason(*l), nil
	case audit.StandingRunning:
		return ActionRunning, fmt.Sprintf("run %s on %s (pid %d) is applying it: it holds the run lock until %s", l.RunID, l.Host, l.PID, lease.ExpiresAt.Format(time.RFC3339)), nil
	case audit.StandingFinal:
		switch l.State {
		case audit.RolledBack:
			if l.IsUndo() {
				return ActionApply, "undone by run " + l.RunID, nil
			}
			return ActionApply, "the last attempt failed and was rolled back", nil
		case audit.ManualMarkedAsRolledBack:
			return ActionApply, "an operator marked it rolled back", nil
		}
		return ActionSkip, "applied by run " + l.RunID, nil
	}
	// Recoverable: STARTED, FAILED or ROLLBACK_FAILED under a transactional
	// protocol or recovery retry.
	switch l.TxStrategy {
	case audit.TxShared:
		return ActionApply, fmt.Sprintf("the last attempt (%s) ran in a shared transaction that did not commit", l.State), nil
	case audit.TxSeparateWithMarker:
		if !readMarkers && l.IsUndo() {
			return ActionApply, fmt.Sprintf("an undo was interrupted (%s); the run reads its commit marker first: if the undo committed it records ROLLED_BACK and applies the change again, otherwise it records APPLIED", l.State), nil
		}
		if !readMarkers {
			return ActionApply, fmt.Sprintf("the last attempt left %s; the run reads its commit marker first and records APPLIED without re-running if it committed", l.State), nil
		}
		committed, m, err := r.markerProvesCommit(ctx, pc)
		if err != nil {
			return "", "", err
		}
		if committed {
			return ActionRecordApplied, fmt.Sprintf("the last attempt left %s but a commit marker (run %s) proves the change committed", l.State, m.RunID), nil
		}
		return ActionApply, fmt.Sprintf("the last attempt left %s and no commit marker newer than the last settled entry: its transaction never committed", l.State), nil
	}
	return ActionApply, fmt.Sprintf("the last attempt left %s; recovery is retry", l.State), nil
}

// markerProvesCommit reports whether the target holds a commit marker
// written after the change's last settled entry. Tokens increase with every
// lock acquisition, so such a marker was committed by an attempt that
// started after that entry, whatever entries later attempts left.
func (r *Runner) markerProvesCommit(ctx context.Context, pc *PlannedChange) (bool, targets.Marker, error) {
	c := pc.Change
	tt, ok := r.targetOf(c).(targets.Transactional)
	if !ok {
		return false, targets.Marker{}, nil
	}
	m, found, err := tt.ReadMarker(ctx, c.ID)
	if err != nil {
		return false, targets.Marker{}, fmt.Errorf("reading the commit marker of %q on target %q: %w", c.ID, tt.ID(), err)
	}
	if !found {
		return false, targets.Marker{}, nil
	}
	if err := r.readBaseline(ctx, pc); err != nil {
		return false, targets.Marker{}, err
	}
	return m.Token > pc.markerBaseline, m, nil
}

// readBaseline sets pc.markerBaseline once: the decision and the marker the
// run writes use the same value, from at most one history read.
func (r *Runner) readBaseline(ctx context.Context, pc *PlannedChange) error {
	if pc.baselineRead {
		return nil
	}
	base, err := r.markerBaseline(ctx, pc.Change.ID, pc.Latest)
	if err != nil {
		return err
	}
	pc.markerBaseline, pc.baselineRead = base, true
	return nil
}

// unsettled reports whether an entry records an attempt whose outcome a
// later attempt may still have to establish.
func unsettled(s audit.State) bool {
	return s == audit.Started || s == audit.Failed || s == audit.RollbackFailed
}

// markerBaseline is the token of the change's last settled entry (applied,
// rolled back, or resolved by an operator), or 0 when it has none. A commit
// marker above it proves a commit since then; one at or below it is left
// over from before. The latest entry usually answers; only after an
// unsettled one does it take a read of the change's history.
func (r *Runner) markerBaseline(ctx context.Context, changeID string, latest *audit.Entry) (int64, error) {
	if latest == nil {
		return 0, nil
	}
	if !unsettled(latest.State) {
		return latest.Token, nil
	}
	h, err := r.cfg.store.History(ctx, audit.HistoryQuery{ChangeID: changeID})
	if err != nil {
		return 0, fmt.Errorf("reading the history of %q: %w", changeID, err)
	}
	for i := len(h) - 1; i >= 0; i-- {
		if !unsettled(h[i].State) {
			return h[i].Token, nil
		}
	}
	return 0, nil
}

// plan decides every change from a snapshot. Issues block their stage and
// every later stage. view is what a plan made without holding the lock
// read, nil for a run.
func (r *Runner) plan(ctx context.Context, snap audit.Snapshot, view *audit.View, readMarkers bool) (*Plan, error) {
	p := &Plan{Changes: make([]PlannedChange, 0, r.count)}
	blocked := false
	for si := range r.pipeline {
		s := &r.pipeline[si]
		start := len(p.Changes)
		stageIssue := false
		for ci := range s.Changes {
			c := &s.Changes[ci]
			pc := PlannedChange{Stage: s.Name, Change: c}
			if r.targetOf(c) != nil {
				pc.Protocol = r.protocolOf(c)
			}
			if e, ok := snap[c.ID]; ok {
				pc.Latest = &e
			}
			a, why, err := r.decide(ctx, &pc, view, readMarkers)
			if err != nil {
				return nil, err
			}
			pc.Action, pc.Reason = a, why
			if readMarkers && a == ActionApply && pc.Protocol == audit.TxSeparateWithMarker {
				if err := r.readBaseline(ctx, &pc); err != nil {
					return nil, err
				}
			}
			if a == ActionSkip && c.Checksum != "" && pc.Latest.Checksum != "" && c.Checksum != pc.Latest.Checksum {
				pc.Drift = true
			}
			stageIssue = stageIssue || a == ActionIssue
			p.Changes = append(p.Changes, pc)
		}
		blocked = blocked || stageIssue
		if blocked {
			for i := start; i < len(p.Changes); i++ {
				if pc := &p.Changes[i]; pc.Action == ActionApply || pc.Action == ActionRecordApplied {
					pc.Action = ActionBlocked
					pc.Reason = "blocked by a change that needs manual intervention: " + pc.Reason
				}
			}
		}
	}
	return p, nil
}

func (r *Runner) drift(p *Plan) []Drift {
	var out []Drift
	for _, pc := range p.Changes {
		if pc.Drift {
			out = append(out, Drift{ChangeID: pc.Change.ID, Source: pc.Change.Source, Recorded: pc.Latest.Checksum, Current: pc.Change.Checksum})
		}
	}
	return out
}

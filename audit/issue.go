package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
)

// Standing is what a change's latest entry says about the change: whether
// the next run settles it by itself, whether it is being applied right now,
// or whether it needs a human. It is the one definition of an issue: the
// runner blocks exactly the changes it calls [StandingIssue], and the
// operations tools list and resolve exactly those.
type Standing string

// The standings of a change, from [Classify].
const (
	// StandingFinal: the latest entry is an outcome the next run acts on by
	// itself: applied (skip), rolled back (apply again), or an operator's
	// resolution.
	StandingFinal Standing = "final"
	// StandingRunning: the latest entry is STARTED by a run that still holds
	// a valid lease on the run lock. The change is being applied now (or its
	// process died and the lease has not expired yet); it becomes an issue
	// or a recoverable attempt once the lease is gone.
	StandingRunning Standing = "running"
	// StandingRecoverable: the last attempt did not finish, but the next run
	// establishes its outcome by itself: a transaction that either committed
	// (its APPLIED entry or commit marker proves it) or left nothing, or a
	// change whose recovery strategy is "retry".
	StandingRecoverable Standing = "recoverable"
	// StandingIssue: the change may be half applied and nothing in the
	// trail tells what it left; a human checks the target and records a
	// resolution. Its stage and every later stage are blocked until then.
	StandingIssue Standing = "issue"
)

// Classify returns the standing of a change whose latest entry is e. lock
// is the run lock as stored (nil when nobody holds it, or when the caller
// holds it itself, as a run and a resolution do): a STARTED entry is
// running only while the run that wrote it holds a valid lease with the
// entry's fencing token. Entries of a dead run (its lease expired) or a
// fenced one (someone else holds the lock) are judged on what they left.
//
// An attempt that ran under a transactional protocol is never an issue: its
// transaction either committed (and the commit marker or the shared
// transaction proves it) or left nothing behind. Under recovery "retry" the
// next run re-applies the change. An entry with no (or an unknown) protocol
// is treated as non-transactional: nothing proves what it left behind. An
// entry whose state is not one of [States] (written by a newer version, or
// damaged) is an issue whatever its protocol: nobody can tell what the
// attempt did, so the change is neither skipped nor applied again until an
// operator says which.
func Classify(e Entry, lock *LockInfo) Standing {
	switch e.State {
	case Applied, ManualMarkedAsApplied, RolledBack, ManualMarkedAsRolledBack:
		return StandingFinal
	case Started, Failed, RollbackFailed:
	default:
		return StandingIssue
	}
	if e.State == Started && lock != nil && lock.Valid() && lock.Owner.RunID == e.RunID && lock.Token == e.Token {
		return StandingRunning
	}
	if e.Recovery == "retry" || e.TxStrategy == TxShared || e.TxStrategy == TxSeparateWithMarker {
		return StandingRecoverable
	}
	return StandingIssue
}

// IsIssue reports whether e, as the latest entry of its change, is an issue
// once no run holds the lock: [Classify] with no lock. Callers that hold
// the lock (a run, a resolution) or that only care about finished runs use
// it; a reader that does not hold the lock passes the stored lock to
// [Classify], so that a change being applied right now is not reported.
func IsIssue(e Entry) bool { return Classify(e, nil) == StandingIssue }

// IssueReason says in one sentence why e, an issue, needs a human, in the
// same words for the runner's plan and the operations tools.
func IssueReason(e Entry) string {
	if !e.State.Valid() {
		return fmt.Sprintf("its latest entry (seq %d) has the unknown state %q: nothing tells what the attempt did; recovery is manual", e.Seq, e.State)
	}
	return fmt.Sprintf("the last attempt left %s outside a transaction; recovery is manual", e.State)
}

// View is a snapshot read together with the run lock, for a reader that
// does not hold the lock: it classifies each change as [Classify] does,
// telling a change being applied right now from one left by a dead run.
type View struct {
	Snapshot Snapshot
	// locks are the run lock as read before the snapshot and, when the
	// snapshot holds a STARTED entry the first read does not explain, once
	// more after it; nil entries mean nobody held it.
	locks []*LockInfo
}

// ReadView reads the run lock, then the snapshot, then (only when a
// STARTED entry would otherwise be an issue) the lock again. A STARTED entry
// is running when its run held the lock at either read: the first read
// covers a run that finished after it (the snapshot then shows its
// outcome), the second a run that started after it.
func ReadView(ctx context.Context, s Store) (View, error) {
	readLock := func() (*LockInfo, error) {
		li, err := s.LockInfo(ctx)
		if errors.Is(err, ErrNoLock) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the run lock: %w", err)
		}
		return &li, nil
	}
	before, err := readLock()
	if err != nil {
		return View{}, err
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return View{}, fmt.Errorf("reading the audit snapshot: %w", err)
	}
	v := View{Snapshot: snap, locks: []*LockInfo{before}}
	for _, e := range snap {
		if e.State == Started && Classify(e, before) == StandingIssue {
			after, err := readLock()
			if err != nil {
				return View{}, err
			}
			v.locks = append(v.locks, after)
			break
		}
	}
	return v, nil
}

// Standing classifies e, the latest entry of its change in v.Snapshot.
func (v View) Standing(e Entry) Standing {
	if v.RunningLease(e) != nil {
		return StandingRunning
	}
	return Classify(e, nil)
}

// RunningLease returns the lease under which e's run is applying it, or nil
// when e is not running.
func (v View) RunningLease(e Entry) *LockInfo {
	for _, l := range v.locks {
		if l != nil && Classify(e, l) == StandingRunning {
			return l
		}
	}
	return nil
}

// Issues returns the entries of v.Snapshot that are issues, oldest first.
func (v View) Issues() []Entry {
	var out []Entry
	for _, e := range v.Snapshot {
		if v.Standing(e) == StandingIssue {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Running returns the entries of v.Snapshot whose run is applying them now,
// oldest first.
func (v View) Running() []Entry {
	var out []Entry
	for _, e := range v.Snapshot {
		if v.Standing(e) == StandingRunning {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

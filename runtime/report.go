package runtime

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// Version is the flamingock-go version recorded in audit entries.
const Version = "0.1.0"

// Sentinel errors. The concrete errors below wrap them.
var (
	// ErrIssues is wrapped by the *[IssuesError] that Run and Validate
	// return when a change needs manual intervention.
	ErrIssues = errors.New("changes need manual intervention")
	// ErrPending is returned by [Runner.Validate] when changes are pending.
	ErrPending = errors.New("changes are pending")
	// ErrLockTimeout is returned by Run when another instance held the lock
	// for longer than the configured wait.
	ErrLockTimeout = errors.New("timed out waiting for the run lock")
	// ErrLeaseLost is the cause of the context handed to a change when the
	// runner could not keep its lease; the run stops.
	ErrLeaseLost = errors.New("run lock lease lost")
	// ErrChecksumDrift is wrapped by the *[DriftError] Run returns under
	// [DriftFail].
	ErrChecksumDrift = errors.New("applied changes no longer match their source")
	// ErrNoIssue is returned by [MarkApplied] and [MarkRolledBack] when the
	// change has no issue to resolve.
	ErrNoIssue = errors.New("change has no issue to resolve")
)

// Report is what a run did.
type Report struct {
	RunID    string
	Started  time.Time
	Finished time.Time
	// UpToDate is true when nothing was pending; the run then took no lock.
	UpToDate bool
	// Total is the number of changes in the pipeline.
	Total int
	// Changes has one result per change of the pipeline, in order, except
	// when the audit store's applied digest told the run that everything
	// is applied: then it is nil, so that a start-up with nothing to do
	// builds nothing per change, and [Report.Results] lists the skipped
	// changes on demand.
	Changes []ChangeResult

	pipeline Pipeline // for Results, when Changes was left nil
}

// Results returns one result per change of the pipeline, in order: Changes,
// or when the run was decided from the store's digest, every change skipped.
func (r *Report) Results() []ChangeResult {
	if r.Changes != nil || !r.UpToDate {
		return r.Changes
	}
	out := make([]ChangeResult, 0, r.Total)
	for _, s := range r.pipeline {
		for ci := range s.Changes {
			out = append(out, ChangeResult{Stage: s.Name, ChangeID: s.Changes[ci].ID, Action: ActionSkip, Reason: "applied (the audit store's digest matches the pipeline)"})
		}
	}
	return out
}

// Count returns how many changes ended with action a.
func (r *Report) Count(a Action) int {
	if r.Changes == nil && r.UpToDate {
		if a == ActionSkip {
			return r.Total
		}
		return 0
	}
	n := 0
	for _, c := range r.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// ChangeResult is what happened to one change in a run.
type ChangeResult struct {
	Stage    string
	ChangeID string
	// Action is what the run decided for the change.
	Action Action
	// Reason explains the decision in words.
	Reason string
	// State is the audit state the run recorded, empty when it recorded none.
	State    audit.State
	Protocol audit.TxStrategy
	Duration time.Duration
	// Drift is set when an applied change's checksum no longer matches.
	Drift bool
	Err   error
}

// RunError reports a change that failed. It keeps every original error: the
// change's, its rollback's, and the audit store's when recording failed.
type RunError struct {
	Stage    string
	ChangeID string
	Source   Position
	// State is what the audit trail now says about the change, empty when
	// the store could not record anything.
	State audit.State
	// Apply is the error the change returned (or the error that kept it
	// from running: a transaction that would not begin or commit).
	Apply error
	// Rollback is the rollback function's error, when it ran and failed.
	Rollback error
	// Audit is the audit store's error, when recording the outcome failed.
	Audit error
	// Interrupted is why the run's context was cancelled while the change
	// ran, if it was: a shutdown, or [ErrLeaseLost].
	Interrupted error
}

func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "change %q (%s) failed", e.ChangeID, e.Source)
	if e.Apply != nil {
		fmt.Fprintf(&b, ": %v", e.Apply)
	}
	if e.Rollback != nil {
		fmt.Fprintf(&b, "; rollback failed too: %v", e.Rollback)
	}
	if e.Audit != nil {
		fmt.Fprintf(&b, "; recording the outcome failed: %v", e.Audit)
	}
	if e.Interrupted != nil && !errors.Is(e.Apply, e.Interrupted) {
		fmt.Fprintf(&b, "; the run was interrupted: %v", e.Interrupted)
	}
	if e.State != "" {
		fmt.Fprintf(&b, " (audit state %s)", e.State)
	}
	return b.String()
}

// Unwrap returns every non-nil original error.
func (e *RunError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Apply, e.Rollback, e.Audit, e.Interrupted} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Issue is a change that needs a human before its stage can run again.
type Issue struct {
	Stage  string
	Latest audit.Entry
}

// IssuesError lists the changes that block the pipeline. It wraps
// [ErrIssues].
type IssuesError struct {
	Issues []Issue
}

func (e *IssuesError) Error() string {
	// No program name: the operations CLI is mounted under the
	// application's own command, and it names itself when it shows this.
	return e.List() + "\nCheck the target system, then record what you found with MarkApplied / MarkRolledBack, or the operations CLI's `audit fix --change ID --resolution applied|rolled-back --reason TEXT`."
}

// List is the error's text without the closing advice: the changes and
// their last states, one per line, for a caller that gives its own advice
// (the operations CLI names the commands as it was invoked).
func (e *IssuesError) List() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d change(s) need manual intervention; their stages and every later stage are blocked:", len(e.Issues))
	for _, is := range e.Issues {
		l := is.Latest
		fmt.Fprintf(&b, "\n  - %s (stage %s): last state %s at %s by run %s", l.ChangeID, is.Stage, l.State, l.CreatedAt.Format(time.RFC3339), l.RunID)
		if l.Error != "" {
			fmt.Fprintf(&b, ": %s", l.Error)
		}
	}
	return b.String()
}

func (e *IssuesError) Unwrap() error { return ErrIssues }

// DriftError lists applied changes whose source changed since they were
// applied. It wraps [ErrChecksumDrift].
type DriftError struct {
	Changes []Drift
}

// Drift is one applied change whose checksum differs from the audit trail.
type Drift struct {
	ChangeID string
	Source   Position
	Recorded string
	Current  string
}

func (e *DriftError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d applied change(s) no longer match their source:", len(e.Changes))
	for _, d := range e.Changes {
		fmt.Fprintf(&b, "\n  - %s (%s): applied as %s, source is now %s", d.ChangeID, d.Source, d.Recorded, d.Current)
	}
	b.WriteString("\nApplied changes must not be edited; restore the original code, or declare a new change.")
	return b.String()
}

func (e *DriftError) Unwrap() error { return ErrChecksumDrift }

// DependencyError lists pending changes whose parameters nothing provides,
// or whose target is not registered. Run returns it before anything runs.
type DependencyError struct {
	Problems []string
}

func (e *DependencyError) Error() string {
	return "cannot wire pending changes:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Event is something a run reports to listeners: one of [RunStarted],
// [LockWaiting], [LockAcquired], [ChangeStarted], [ChangeFinished],
// [RunFinished].
type Event interface{ isEvent() }

// RunStarted is sent when a run finds pending work, before it locks.
type RunStarted struct{ RunID string }

// LockWaiting is sent when another run holds the lock this run needs,
// before it waits (once per run).
type LockWaiting struct {
	RunID string
	// Holder is who holds the lock and ExpiresAt when its lease ends unless
	// renewed, both as the store reported them.
	Holder    audit.Owner
	ExpiresAt time.Time
	// WaitUntil is when this run gives up (see WithLockWait).
	WaitUntil time.Time
}

// LockAcquired is sent when the run holds the lock.
type LockAcquired struct {
	RunID string
	Lease audit.Lease
	// Waited is how long acquiring took, waits for another holder included.
	Waited time.Duration
}

// ChangeStarted is sent before a change runs.
type ChangeStarted struct {
	RunID    string
	Stage    string
	ChangeID string
	// Target is the id of the target the change runs against.
	Target   string
	Action   Action
	Protocol audit.TxStrategy
}

// ChangeFinished is sent after a change's outcome is recorded.
type ChangeFinished struct {
	RunID string
	// Target is the id of the target the change ran against.
	Target string
	Result ChangeResult
}

// RunFinished is sent at the end of every run, successful or not.
type RunFinished struct {
	Report *Report
	Err    error
}

func (RunStarted) isEvent()     {}
func (LockWaiting) isEvent()    {}
func (LockAcquired) isEvent()   {}
func (ChangeStarted) isEvent()  {}
func (ChangeFinished) isEvent() {}
func (RunFinished) isEvent()    {}

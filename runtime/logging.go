package runtime

import (
	"context"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// What the runner logs at Info, one line each, so that an operator reading
// the application's log can follow a run without a listener:
//
//   - a run with nothing to do: "flamingock: up to date", with the number
//     of changes and which read told (the store's digest or its snapshot)
//     and how long it took;
//   - "flamingock: waiting for the run lock" with who holds it and until
//     when (once per run), and "flamingock: run lock acquired";
//   - "flamingock: change started" / "flamingock: change finished" with
//     the run id, stage, change, target, protocol and duration;
//   - "flamingock: run finished" with the counts of the run.
//
// Failures are logged at Error, drift and lock trouble at Warn.

// logUpToDate logs a run that found nothing to do after one read.
func (r *Runner) logUpToDate(rep *Report, read string, took time.Duration) {
	if !r.infoEnabled {
		return
	}
	r.cfg.logger.Info("flamingock: up to date",
		"run_id", rep.RunID, "changes", r.count, "stages", len(r.pipeline),
		"read", read, "read_took", took)
}

// lockWaiting logs and reports ([LockWaiting]) that another run holds the
// lock this run is about to wait for.
func (r *Runner) lockWaiting(ctx context.Context, runID string, deadline time.Time) {
	info, err := r.cfg.store.LockInfo(ctx)
	if err != nil {
		// The holder released or the read failed: the next attempt says.
		return
	}
	r.emit(LockWaiting{RunID: runID, Holder: info.Owner, ExpiresAt: info.ExpiresAt, WaitUntil: deadline})
	if r.infoEnabled {
		r.cfg.logger.Info("flamingock: waiting for the run lock",
			"run_id", runID, "holder_host", info.Owner.Host, "holder_pid", info.Owner.PID,
			"holder_run_id", info.Owner.RunID, "held_until", info.ExpiresAt, "wait_until", deadline)
	}
}

// logLockAcquired logs the lease a run took and how long it waited.
func (r *Runner) logLockAcquired(runID string, l audit.Lease, waited time.Duration) {
	if r.infoEnabled {
		r.cfg.logger.Info("flamingock: run lock acquired",
			"run_id", runID, "token", l.Token, "expires_at", l.ExpiresAt, "waited", waited)
	}
}

// targetID is the id of the target a change runs against.
func targetID(c *Change) string {
	if c.Target == "" {
		return DefaultTargetID
	}
	return c.Target
}

func (r *Runner) logChangeStarted(runID string, pc *PlannedChange) {
	if r.infoEnabled {
		r.cfg.logger.Info("flamingock: change started",
			"run_id", runID, "stage", pc.Stage, "change", pc.Change.ID, "target", targetID(pc.Change),
			"protocol", pc.Protocol, "reason", pc.Reason)
	}
}

func (r *Runner) logChangeFinished(runID string, pc *PlannedChange, res ChangeResult) {
	if res.Err != nil {
		r.cfg.logger.Error("flamingock: change failed",
			"run_id", runID, "stage", pc.Stage, "change", pc.Change.ID, "target", targetID(pc.Change),
			"state", res.State, "duration", res.Duration, "error", res.Err)
		return
	}
	if r.infoEnabled {
		r.cfg.logger.Info("flamingock: change finished",
			"run_id", runID, "stage", pc.Stage, "change", pc.Change.ID, "target", targetID(pc.Change),
			"state", res.State, "duration", res.Duration)
	}
}

// logRunFinished logs the summary of a run that took the lock, or its
// error.
func (r *Runner) logRunFinished(rep *Report, err error) {
	if err != nil {
		r.cfg.logger.Error("flamingock: run failed", "run_id", rep.RunID, "error", err)
		return
	}
	if rep.UpToDate || !r.infoEnabled {
		return
	}
	var applied, skipped int
	for _, c := range rep.Changes {
		switch {
		case c.State == audit.Applied:
			applied++
		case c.Action == ActionSkip:
			skipped++
		}
	}
	r.cfg.logger.Info("flamingock: run finished",
		"run_id", rep.RunID, "applied", applied, "already_applied", skipped,
		"changes", len(rep.Changes), "duration", rep.Finished.Sub(rep.Started))
}

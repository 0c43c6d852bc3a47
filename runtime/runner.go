package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/targets"
)

// Runner applies a pipeline's pending changes. Create it with [New]; it is
// safe to call its methods from several goroutines, though runs serialise
// on the audit store's lock.
type Runner struct {
	pipeline Pipeline
	cfg      config
	count    int
	// digest is the pipeline's applied digest, computed on first use.
	digest     audit.AppliedDigest
	digestOnce sync.Once
	// valid is the pipeline's validation, run once when first needed.
	validOnce sync.Once
	validErr  error
	// infoEnabled caches whether the logger wants Info records, so the hot
	// path does not build log attributes nobody reads.
	infoEnabled bool
	host        string
	pid         int
	// sharedAppend holds, per target that can write the audit store's
	// entries inside its own transactions, its appender: asked once here
	// rather than for every change planned and run.
	sharedAppend map[string]targets.TxAppender
}

// New validates the options and returns a runner. Every problem is
// reported, not just the first.
//
// The pipeline is validated ([Pipeline.Validate]) when it is first needed:
// by a run that finds something pending, before it takes the lock, and by
// [Runner.Plan] and [Runner.Validate]. A start-up with nothing pending then
// does no work proportional to the number of changes.
func New(p Pipeline, opts ...Option) (*Runner, error) {
	cfg := defaultConfig()
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errors.New("nil option"))
			continue
		}
		if err := o.apply(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.store == nil {
		errs = append(errs, errors.New("no audit store: pass WithAuditStore"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("flamingock: invalid configuration:\n%w", errors.Join(errs...))
	}
	if cfg.targets[DefaultTargetID] == nil {
		cfg.targets[DefaultTargetID] = NewDependencyTarget(DefaultTargetID)
	}
	host, _ := os.Hostname()
	r := &Runner{pipeline: p, cfg: cfg, host: host, pid: os.Getpid(),
		infoEnabled: cfg.logger.Enabled(context.Background(), slog.LevelInfo)}
	for _, s := range p {
		r.count += len(s.Changes)
	}
	for id, t := range cfg.targets {
		if tt, ok := t.(targets.Transactional); ok {
			if appendTx, shared := tt.SharedAudit(cfg.store); shared {
				if r.sharedAppend == nil {
					r.sharedAppend = map[string]targets.TxAppender{}
				}
				r.sharedAppend[id] = appendTx
			}
		}
	}
	return r, nil
}

func (r *Runner) targetOf(c *Change) targets.Target {
	id := c.Target
	if id == "" {
		id = DefaultTargetID
	}
	return r.cfg.targets[id]
}

// protocolOf picks the execution protocol of a change.
func (r *Runner) protocolOf(c *Change) audit.TxStrategy {
	if !c.Transactional {
		return audit.NonTx
	}
	t := r.targetOf(c)
	if _, ok := t.(targets.Transactional); !ok {
		return audit.NonTx
	}
	if _, shared := r.sharedAppend[t.ID()]; shared {
		return audit.TxShared
	}
	return audit.TxSeparateWithMarker
}

// Run applies every pending change in order and returns what it did.
//
// When the audit trail shows nothing pending, Run returns after one read
// without locking: of the store's applied digest when the store keeps one
// ([audit.DigestStore]), else of its snapshot. Otherwise it takes the lock (waiting
// at most the configured lock wait), re-reads the snapshot, plans, validates
// the pending changes' dependencies, and runs each change by its protocol.
//
// Errors: a *[RunError] when a change fails (the run stops there), an
// *[IssuesError] when changes need manual intervention (their stages are
// blocked; earlier stages still run), a *[DriftError] under [DriftFail], a
// *[DependencyError], [ErrLockTimeout], or the audit store's error. The
// report is never nil.
func (r *Runner) Run(ctx context.Context) (*Report, error) {
	rep := &Report{RunID: newRunID(), Started: time.Now(), Total: r.count}
	err := r.run(ctx, rep)
	rep.Finished = time.Now()
	r.emit(RunFinished{Report: rep, Err: err})
	r.logRunFinished(rep, err)
	return rep, err
}

func (r *Runner) run(ctx context.Context, rep *Report) error {
	readStart := time.Now()
	if r.digestSaysUpToDate(ctx) {
		// Nothing per change: Report.Results lists them if asked.
		rep.UpToDate, rep.pipeline = true, r.pipeline
		r.logUpToDate(rep, "digest", time.Since(readStart))
		return nil
	}
	readStart = time.Now()
	snap, err := r.cfg.store.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("reading the audit snapshot: %w", err)
	}
	if drift, upToDate := r.fastPath(snap); upToDate {
		rep.UpToDate = true
		rep.Changes = r.skippedResults(snap)
		r.logUpToDate(rep, "snapshot", time.Since(readStart))
		return r.checkDrift(drift)
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
	waited := time.Since(lockStart)
	r.emit(LockAcquired{RunID: rep.RunID, Lease: l.lease(), Waited: waited})
	r.logLockAcquired(rep.RunID, l.lease(), waited)
	// Another instance may have run while we waited: decide from what the
	// store says now that we hold the lock.
	if snap, err = r.cfg.store.Snapshot(l.ctx); err != nil {
		return l.stopped("reading the audit snapshot", err)
	}
	if snap, err = r.settleUndos(l, rep.RunID, snap); err != nil {
		return err
	}
	p, err := r.plan(l.ctx, snap, nil, true)
	if err != nil {
		return l.stopped("planning", err)
	}
	if err := r.checkDrift(r.drift(p)); err != nil {
		return err
	}
	if err := r.validateDeps(p); err != nil {
		return err
	}
	return r.execute(l, rep, p)
}

// digestSaysUpToDate asks a store that keeps an [audit.AppliedDigest]
// whether exactly this pipeline's changes, with these checksums, are
// applied: one small read whatever the number of changes. Any other answer,
// or an error, leaves the decision to the snapshot.
func (r *Runner) digestSaysUpToDate(ctx context.Context) bool {
	ds, ok := r.cfg.store.(audit.DigestStore)
	if !ok {
		return false
	}
	d, err := ds.AppliedDigest(ctx)
	return err == nil && d == r.pipelineDigest()
}

// pipelineDigest is the applied digest the store would hold if every change
// of the pipeline were applied with its current checksum: the combination
// of the stages' digests, which generated stages carry.
func (r *Runner) pipelineDigest() audit.AppliedDigest {
	r.digestOnce.Do(func() {
		for si := range r.pipeline {
			d := r.pipeline[si].digest()
			r.digest.Count += d.Count
			for i := range d.Sum {
				r.digest.Sum[i] ^= d.Sum[i]
			}
		}
	})
	return r.digest
}

// validatePipeline runs [Pipeline.Validate] once per runner.
func (r *Runner) validatePipeline() error {
	r.validOnce.Do(func() {
		if err := r.pipeline.Validate(); err != nil {
			r.validErr = fmt.Errorf("flamingock: invalid pipeline:\n%w", err)
		}
	})
	return r.validErr
}

// fastPath reports whether every change's latest state is applied, using
// nothing but the snapshot, and collects checksum drift on the way.
func (r *Runner) fastPath(snap audit.Snapshot) ([]Drift, bool) {
	var drift []Drift
	for si := range r.pipeline {
		for ci := range r.pipeline[si].Changes {
			c := &r.pipeline[si].Changes[ci]
			e, ok := snap[c.ID]
			if !ok || (e.State != audit.Applied && e.State != audit.ManualMarkedAsApplied) {
				return nil, false
			}
			if c.Checksum != "" && e.Checksum != "" && c.Checksum != e.Checksum {
				drift = append(drift, Drift{ChangeID: c.ID, Source: c.Source, Recorded: e.Checksum, Current: c.Checksum})
			}
		}
	}
	return drift, true
}

// skippedResults reports every change as skipped, with the run that
// applied it.
func (r *Runner) skippedResults(snap audit.Snapshot) []ChangeResult {
	out := make([]ChangeResult, 0, r.count)
	for _, s := range r.pipeline {
		for ci := range s.Changes {
			c := &s.Changes[ci]
			res := ChangeResult{Stage: s.Name, ChangeID: c.ID, Action: ActionSkip, Reason: "applied"}
			if e, ok := snap[c.ID]; ok {
				res.Reason = "applied by run " + e.RunID
				res.Drift = c.Checksum != "" && e.Checksum != "" && c.Checksum != e.Checksum
			}
			out = append(out, res)
		}
	}
	return out
}

func (r *Runner) checkDrift(drift []Drift) error {
	if len(drift) == 0 {
		return nil
	}
	derr := &DriftError{Changes: drift}
	if r.cfg.driftPolicy == DriftFail {
		return derr
	}
	r.cfg.logger.Warn("flamingock: checksum drift", "error", derr.Error())
	return nil
}

// validateDeps checks, before anything runs, that every change the plan
// will apply has its target and every parameter it needs.
func (r *Runner) validateDeps(p *Plan) error {
	if problems := r.wiringProblems(p, ActionApply); len(problems) > 0 {
		return &DependencyError{Problems: problems}
	}
	return nil
}

// Plan reports what Run would do now and why, without locking or writing
// and without touching any target: for a change whose last attempt ran
// under the commit-marker protocol, it says that the run will consult the
// marker rather than reading it. Another instance may be running at the
// same time; Plan shows the audit trail as it is when read, and a change
// whose STARTED entry belongs to the run that holds the lock as
// [ActionRunning], not as an issue. [Plan.Wiring] lists the changes that
// would run but whose target or dependencies are not registered, which Run
// would refuse.
func (r *Runner) Plan(ctx context.Context) (*Plan, error) {
	if err := r.validatePipeline(); err != nil {
		return nil, err
	}
	v, err := audit.ReadView(ctx, r.cfg.store)
	if err != nil {
		return nil, err
	}
	p, err := r.plan(ctx, v.Snapshot, &v, false)
	if err != nil {
		return nil, err
	}
	p.wiring = r.wiringProblems(p, ActionApply, ActionBlocked)
	return p, nil
}

// Validate returns nil when every change is applied. Otherwise it returns
// an *[IssuesError] when changes need manual intervention, a
// *[DependencyError] when a change that would run has no target or
// dependency registered, or an error wrapping [ErrPending] that lists the
// pending changes.
func (r *Runner) Validate(ctx context.Context) error {
	p, err := r.Plan(ctx)
	if err != nil {
		return err
	}
	if issues := p.Issues(); len(issues) > 0 {
		return &IssuesError{Issues: issues}
	}
	if w := p.Wiring(); w != nil {
		return w
	}
	var ids []string
	for _, pc := range p.Changes {
		if pc.Action != ActionSkip {
			ids = append(ids, pc.Change.ID)
		}
	}
	if len(ids) > 0 {
		return fmt.Errorf("%w: %d change(s): %v", ErrPending, len(ids), ids)
	}
	return nil
}

// Snapshot returns the latest audit entry of every change.
func (r *Runner) Snapshot(ctx context.Context) (audit.Snapshot, error) {
	return r.cfg.store.Snapshot(ctx)
}

// History returns the audit entries matching q, oldest first.
func (r *Runner) History(ctx context.Context, q audit.HistoryQuery) ([]audit.Entry, error) {
	return r.cfg.store.History(ctx, q)
}

// Issues returns the changes that need manual intervention.
func (r *Runner) Issues(ctx context.Context) ([]Issue, error) {
	p, err := r.Plan(ctx)
	if err != nil {
		return nil, err
	}
	return p.Issues(), nil
}

// Pipeline returns the runner's pipeline.
func (r *Runner) Pipeline() Pipeline { return r.pipeline }

// Store returns the runner's audit store.
func (r *Runner) Store() audit.Store { return r.cfg.store }

func (r *Runner) emit(e Event) {
	for _, f := range r.cfg.listeners {
		f(e)
	}
}

func newRunID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

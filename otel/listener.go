package flamingockotel

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/flamingock/flamingock-go/otel"

// Span names.
const (
	SpanRun      = "flamingock.run"
	SpanLockWait = "flamingock.lock.wait"
	SpanChange   = "flamingock.change"
)

// Attribute keys.
const (
	AttrRunID       = attribute.Key("flamingock.run.id")
	AttrRunOutcome  = attribute.Key("flamingock.run.outcome")
	AttrUpToDate    = attribute.Key("flamingock.run.up_to_date")
	AttrRunApplied  = attribute.Key("flamingock.run.applied")
	AttrChangeID    = attribute.Key("flamingock.change.id")
	AttrStage       = attribute.Key("flamingock.stage")
	AttrTarget      = attribute.Key("flamingock.target")
	AttrProtocol    = attribute.Key("flamingock.protocol")
	AttrAction      = attribute.Key("flamingock.change.action")
	AttrOutcome     = attribute.Key("flamingock.change.outcome")
	AttrLockOutcome = attribute.Key("flamingock.lock.outcome")
	AttrHolderHost  = attribute.Key("flamingock.lock.holder.host")
	AttrHolderPID   = attribute.Key("flamingock.lock.holder.pid")
	AttrHolderRunID = attribute.Key("flamingock.lock.holder.run_id")
	AttrWaitUntil   = attribute.Key("flamingock.lock.wait_until")
)

// Metric names.
const (
	MetricChangesApplied    = "flamingock.changes.applied"
	MetricChangesFailed     = "flamingock.changes.failed"
	MetricChangesRolledBack = "flamingock.changes.rolled_back"
	MetricChangeDuration    = "flamingock.change.duration"
	MetricRunDuration       = "flamingock.run.duration"
	MetricLockWait          = "flamingock.lock.wait"
	MetricChangesPending    = "flamingock.changes.pending"
	MetricIssuesOpen        = "flamingock.issues.open"
)

// Values of [AttrRunOutcome] and [AttrLockOutcome].
const (
	RunUpToDate = "up_to_date"
	RunSuccess  = "success"
	RunFailure  = "failure"

	LockAcquired = "acquired"
	LockGaveUp   = "gave_up"
)

// Listener returns a function to register with [flamingock.WithListener]
// that records every run the runner makes as traces on tp and metrics on
// mp. A nil provider means the global one (otel.GetTracerProvider,
// otel.GetMeterProvider). One listener may serve several runners and
// concurrent runs: it keeps what it needs per run id.
//
// Run spans are root spans: a runner's events carry no context.
func Listener(tp trace.TracerProvider, mp metric.MeterProvider) (func(flamingock.Event), error) {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	ins, err := newInstruments(mp.Meter(ScopeName))
	if err != nil {
		return nil, err
	}
	rec := &recorder{tracer: tp.Tracer(ScopeName), ins: ins, runs: map[string]*runState{}}
	return rec.handle, nil
}

type instruments struct {
	applied, failed, rolledBack metric.Int64Counter
	changeDur, runDur, lockWait metric.Float64Histogram
	pending, issues             metric.Int64Gauge
}

func newInstruments(m metric.Meter) (*instruments, error) {
	var ins instruments
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	ins.applied, err = m.Int64Counter(MetricChangesApplied, metric.WithUnit("{change}"),
		metric.WithDescription("Changes a run applied (or recorded as applied from a commit marker)."))
	collect(err)
	ins.failed, err = m.Int64Counter(MetricChangesFailed, metric.WithUnit("{change}"),
		metric.WithDescription("Changes that failed; a run stops at the first."))
	collect(err)
	ins.rolledBack, err = m.Int64Counter(MetricChangesRolledBack, metric.WithUnit("{change}"),
		metric.WithDescription("Failed changes whose effects were undone (transaction rolled back or rollback function run)."))
	collect(err)
	ins.changeDur, err = m.Float64Histogram(MetricChangeDuration, metric.WithUnit("s"),
		metric.WithDescription("Time a change took, recording its outcome in the audit trail included."))
	collect(err)
	ins.runDur, err = m.Float64Histogram(MetricRunDuration, metric.WithUnit("s"),
		metric.WithDescription("Time a run took, from its first read of the audit store to its end."))
	collect(err)
	ins.lockWait, err = m.Float64Histogram(MetricLockWait, metric.WithUnit("s"),
		metric.WithDescription("Time a run spent acquiring the run lock, waits for another holder included."))
	collect(err)
	ins.pending, err = m.Int64Gauge(MetricChangesPending, metric.WithUnit("{change}"),
		metric.WithDescription("Changes the last run found not applied when it planned (issues and blocked changes included)."))
	collect(err)
	ins.issues, err = m.Int64Gauge(MetricIssuesOpen, metric.WithUnit("{change}"),
		metric.WithDescription("Changes that need manual intervention, as the last run found them."))
	collect(err)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &ins, nil
}

// recorder turns events into spans and measurements.
type recorder struct {
	tracer trace.Tracer
	ins    *instruments

	mu   sync.Mutex
	runs map[string]*runState
}

// runState is what the recorder keeps between the events of one run.
type runState struct {
	ctx       context.Context // holds the run span
	run       trace.Span
	lock      trace.Span
	lockStart time.Time
	change    trace.Span
}

func (r *recorder) handle(ev flamingock.Event) {
	// Measurements and span calls are cheap and never block on export (the
	// SDK batches), so holding the lock across them keeps one run's spans
	// in event order without a lock per run.
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case flamingock.RunStarted:
		r.startRun(e.RunID, time.Now())
	case flamingock.LockWaiting:
		st := r.state(e.RunID)
		st.lockStart = time.Now()
		_, st.lock = r.tracer.Start(st.ctx, SpanLockWait, trace.WithTimestamp(st.lockStart), trace.WithAttributes(
			AttrRunID.String(e.RunID),
			AttrHolderHost.String(e.Holder.Host),
			AttrHolderPID.Int(e.Holder.PID),
			AttrHolderRunID.String(e.Holder.RunID),
			AttrWaitUntil.String(e.WaitUntil.UTC().Format(time.RFC3339Nano)),
		))
	case flamingock.LockAcquired:
		st := r.state(e.RunID)
		if st.lock != nil {
			st.lock.SetAttributes(AttrLockOutcome.String(LockAcquired))
			st.lock.End()
			st.lock = nil
		}
		r.ins.lockWait.Record(context.Background(), e.Waited.Seconds(),
			metric.WithAttributes(AttrLockOutcome.String(LockAcquired)))
	case flamingock.ChangeStarted:
		st := r.state(e.RunID)
		_, st.change = r.tracer.Start(st.ctx, SpanChange, trace.WithAttributes(
			AttrRunID.String(e.RunID),
			AttrChangeID.String(e.ChangeID),
			AttrStage.String(e.Stage),
			AttrTarget.String(e.Target),
			AttrProtocol.String(string(e.Protocol)),
			AttrAction.String(string(e.Action)),
		))
	case flamingock.ChangeFinished:
		r.finishChange(r.state(e.RunID), e)
	case flamingock.RunFinished:
		r.finishRun(e)
	}
}

// state returns the run's state, starting its span if the run's first
// event was missed (the listener was shared with a runner mid-run).
func (r *recorder) state(runID string) *runState {
	if st, ok := r.runs[runID]; ok {
		return st
	}
	return r.startRun(runID, time.Now())
}

func (r *recorder) startRun(runID string, at time.Time) *runState {
	ctx, span := r.tracer.Start(context.Background(), SpanRun, trace.WithTimestamp(at),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(AttrRunID.String(runID)))
	st := &runState{ctx: ctx, run: span}
	r.runs[runID] = st
	return st
}

func (r *recorder) finishChange(st *runState, e flamingock.ChangeFinished) {
	res := e.Result
	outcome := string(res.State)
	if outcome == "" {
		outcome = "UNRECORDED"
	}
	attrs := []attribute.KeyValue{
		AttrStage.String(res.Stage),
		AttrTarget.String(e.Target),
		AttrProtocol.String(string(res.Protocol)),
		AttrOutcome.String(outcome),
	}
	ctx := context.Background()
	set := metric.WithAttributes(attrs...)
	r.ins.changeDur.Record(ctx, res.Duration.Seconds(), set)
	if res.Err == nil {
		r.ins.applied.Add(ctx, 1, set)
	} else {
		r.ins.failed.Add(ctx, 1, set)
	}
	if res.State == audit.RolledBack {
		r.ins.rolledBack.Add(ctx, 1, set)
	}
	span := st.change
	st.change = nil
	if span == nil {
		// No ChangeStarted was seen: place the span by its duration.
		_, span = r.tracer.Start(st.ctx, SpanChange, trace.WithTimestamp(time.Now().Add(-res.Duration)), trace.WithAttributes(
			AttrRunID.String(e.RunID), AttrChangeID.String(res.ChangeID), AttrAction.String(string(res.Action))))
	}
	span.SetAttributes(attrs...)
	if res.Err != nil {
		span.RecordError(res.Err)
		span.SetStatus(codes.Error, res.Err.Error())
	}
	span.End()
}

func (r *recorder) finishRun(e flamingock.RunFinished) {
	rep := e.Report
	st, ok := r.runs[rep.RunID]
	if !ok {
		// Up to date, or failed before it looked for the lock: the run
		// sent no earlier event.
		st = r.startRun(rep.RunID, rep.Started)
	}
	delete(r.runs, rep.RunID)
	ctx := context.Background()
	if st.lock != nil {
		// The run never got the lock: it timed out or was cancelled.
		st.lock.SetAttributes(AttrLockOutcome.String(LockGaveUp))
		if e.Err != nil {
			st.lock.RecordError(e.Err)
			st.lock.SetStatus(codes.Error, e.Err.Error())
		}
		st.lock.End(trace.WithTimestamp(rep.Finished))
		r.ins.lockWait.Record(ctx, rep.Finished.Sub(st.lockStart).Seconds(),
			metric.WithAttributes(AttrLockOutcome.String(LockGaveUp)))
	}
	if st.change != nil {
		st.change.End(trace.WithTimestamp(rep.Finished))
	}
	outcome := RunSuccess
	switch {
	case e.Err != nil:
		outcome = RunFailure
	case rep.UpToDate:
		outcome = RunUpToDate
	}
	st.run.SetAttributes(
		AttrUpToDate.Bool(rep.UpToDate),
		AttrRunOutcome.String(outcome),
		AttrRunApplied.Int(appliedIn(rep)),
	)
	if e.Err != nil {
		st.run.RecordError(e.Err)
		st.run.SetStatus(codes.Error, e.Err.Error())
	}
	st.run.End(trace.WithTimestamp(rep.Finished))
	r.ins.runDur.Record(ctx, rep.Finished.Sub(rep.Started).Seconds(),
		metric.WithAttributes(AttrRunOutcome.String(outcome)))
	// Only a run that planned knows what was pending: one that failed
	// before (lock timeout, store unreachable) reports no changes.
	if rep.UpToDate || len(rep.Changes) > 0 {
		pending := rep.Total - rep.Count(flamingock.ActionSkip)
		r.ins.pending.Record(ctx, int64(pending))
		r.ins.issues.Record(ctx, int64(rep.Count(flamingock.ActionIssue)))
	}
}

// appliedIn counts the changes a run recorded as applied.
func appliedIn(rep *flamingock.Report) int {
	n := 0
	for _, c := range rep.Changes {
		if c.Err == nil && c.State == audit.Applied {
			n++
		}
	}
	return n
}

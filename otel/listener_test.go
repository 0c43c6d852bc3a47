package flamingockotel_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingockotel "github.com/flamingock/flamingock-go/otel"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// telemetry is an SDK tracer and meter provider recording in memory.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) listener(t *testing.T) func(flamingock.Event) {
	t.Helper()
	l, err := flamingockotel.Listener(tel.tp, tel.mp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (tel *telemetry) ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func (tel *telemetry) metrics(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != flamingockotel.ScopeName {
			t.Errorf("metrics under scope %q, want %q", sm.Scope.Name, flamingockotel.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// wantAttrs fails for every key of want that the span lacks or holds with
// another value.
func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[attribute.Key]string) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if g, ok := got[k]; !ok || g.Emit() != v {
			t.Errorf("span %s: attribute %s = %q (present %v), want %q", s.Name(), k, g.Emit(), ok, v)
		}
	}
}

// sum returns the value of a counter's data point whose attributes include
// match, and how many points matched.
func sum(t *testing.T, data metricdata.Aggregation, match ...attribute.KeyValue) int64 {
	t.Helper()
	s, ok := data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("aggregation %T, want an int64 sum", data)
	}
	var total int64
	for _, dp := range s.DataPoints {
		if hasAll(dp.Attributes, match) {
			total += dp.Value
		}
	}
	return total
}

func gauge(t *testing.T, data metricdata.Aggregation) int64 {
	t.Helper()
	g, ok := data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) != 1 {
		t.Fatalf("aggregation %#v, want an int64 gauge with one point", data)
	}
	return g.DataPoints[0].Value
}

// histCount returns how many values the histogram points whose attributes
// include match hold.
func histCount(t *testing.T, data metricdata.Aggregation, match ...attribute.KeyValue) uint64 {
	t.Helper()
	h, ok := data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("aggregation %T, want a float64 histogram", data)
	}
	var n uint64
	for _, dp := range h.DataPoints {
		if hasAll(dp.Attributes, match) {
			n += dp.Count
		}
	}
	return n
}

func hasAll(set attribute.Set, match []attribute.KeyValue) bool {
	for _, kv := range match {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// app is an application database that also keeps the audit trail, so that
// transactional changes commit with their audit entries (TX_SHARED).
type app struct {
	db     *sql.DB
	store  *sqlite.Store
	target *sqltarget.Target
}

func newApp(t *testing.T) *app {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.OpenDB(filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlite.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	target, err := sqltarget.New("app-db", db)
	if err != nil {
		t.Fatal(err)
	}
	return &app{db: db, store: store, target: target}
}

func (a *app) runner(t *testing.T, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	opts = append([]flamingock.Option{flamingock.WithAuditStore(a.store), flamingock.WithTargets(a.target),
		flamingock.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	r, err := flamingock.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	txType = flamingock.TypeOf[*sql.Tx]()
	dbType = flamingock.TypeOf[*sql.DB]()
)

// sqlChange runs stmt in the target's transaction (transactional) or on
// its *sql.DB, the way a generated adapter resolves its parameter.
func sqlChange(id, order, stmt string, transactional bool) flamingock.Change {
	c := flamingock.Change{ID: id, Order: order, Author: "test", Target: "app-db", Transactional: transactional,
		Recovery: flamingock.RecoveryManual, Checksum: "sha256:" + id,
		Source: flamingock.Position{File: "changes/" + id + ".go", Line: 7}}
	if transactional {
		c.Needs = []reflect.Type{txType}
		c.Apply = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			tx, err := targets.Resolve[*sql.Tx](d)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, stmt)
			return err
		})
	} else {
		c.Needs = []reflect.Type{dbType}
		c.Apply = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			db, err := targets.Resolve[*sql.DB](d)
			if err != nil {
				return err
			}
			_, err = db.ExecContext(ctx, stmt)
			return err
		})
	}
	return c
}

var errBoom = errors.New("boom: the partner API refused the request")

func schemaStage() flamingock.Stage {
	return flamingock.Stage{Name: "shop/schema", Changes: []flamingock.Change{
		sqlChange("create-accounts", "001", `CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`, true),
		sqlChange("seed-accounts", "002", `INSERT INTO accounts (name) VALUES ('ada')`, false),
	}}
}

// brokenStage fails in its first change, whose rollback succeeds.
func brokenStage() flamingock.Stage {
	fail := sqlChange("notify-partner", "001", `SELECT 1`, false)
	fail.Apply = flamingock.ChangeFunc(func(context.Context, *targets.Deps) error { return errBoom })
	fail.Rollback = flamingock.ChangeFunc(func(context.Context, *targets.Deps) error { return nil })
	return flamingock.Stage{Name: "shop/partner", Changes: []flamingock.Change{
		fail,
		sqlChange("after-partner", "002", `SELECT 1`, false),
	}}
}

func TestRunWithAFailingChange(t *testing.T) {
	tel := newTelemetry(t)
	a := newApp(t)
	r := a.runner(t, flamingock.NewPipeline(schemaStage(), brokenStage()), flamingock.WithListener(tel.listener(t)))
	rep, err := r.Run(context.Background())
	var runErr *flamingock.RunError
	if !errors.As(err, &runErr) || runErr.State != audit.RolledBack {
		t.Fatalf("Run: %v, want a RunError with state ROLLED_BACK", err)
	}

	runs := tel.ended(flamingockotel.SpanRun)
	if len(runs) != 1 {
		t.Fatalf("%d run spans, want 1", len(runs))
	}
	run := runs[0]
	wantAttrs(t, run, map[attribute.Key]string{
		flamingockotel.AttrRunID:      rep.RunID,
		flamingockotel.AttrRunOutcome: flamingockotel.RunFailure,
		flamingockotel.AttrUpToDate:   "false",
		flamingockotel.AttrRunApplied: "2",
	})
	if run.Status().Code != codes.Error || len(run.Events()) == 0 || run.Events()[0].Name != "exception" {
		t.Errorf("run span status %v, events %v: want Error with the error recorded", run.Status(), run.Events())
	}
	if run.Parent().IsValid() {
		t.Errorf("run span has parent %v, want a root span", run.Parent())
	}
	if got := tel.ended(flamingockotel.SpanLockWait); len(got) != 0 {
		t.Errorf("%d lock wait spans for an uncontended lock, want 0", len(got))
	}

	changes := tel.ended(flamingockotel.SpanChange)
	want := []struct {
		id, stage, protocol, outcome string
		failed                       bool
	}{
		{"create-accounts", "shop/schema", string(audit.TxShared), string(audit.Applied), false},
		{"seed-accounts", "shop/schema", string(audit.NonTx), string(audit.Applied), false},
		{"notify-partner", "shop/partner", string(audit.NonTx), string(audit.RolledBack), true},
	}
	if len(changes) != len(want) {
		t.Fatalf("%d change spans, want %d (the change after the failure does not run)", len(changes), len(want))
	}
	for i, w := range want {
		s := changes[i]
		wantAttrs(t, s, map[attribute.Key]string{
			flamingockotel.AttrChangeID: w.id,
			flamingockotel.AttrStage:    w.stage,
			flamingockotel.AttrTarget:   "app-db",
			flamingockotel.AttrProtocol: w.protocol,
			flamingockotel.AttrOutcome:  w.outcome,
			flamingockotel.AttrAction:   string(flamingock.ActionApply),
			flamingockotel.AttrRunID:    rep.RunID,
		})
		if s.Parent().SpanID() != run.SpanContext().SpanID() || s.SpanContext().TraceID() != run.SpanContext().TraceID() {
			t.Errorf("change span %s: parent %v, want the run span %v", w.id, s.Parent().SpanID(), run.SpanContext().SpanID())
		}
		if s.StartTime().Before(run.StartTime()) || s.EndTime().After(run.EndTime()) {
			t.Errorf("change span %s [%v, %v] lies outside the run span [%v, %v]", w.id, s.StartTime(), s.EndTime(), run.StartTime(), run.EndTime())
		}
		if failed := s.Status().Code == codes.Error; failed != w.failed {
			t.Errorf("change span %s: status %v, want error %v", w.id, s.Status(), w.failed)
		}
		if w.failed {
			ev := s.Events()
			if len(ev) != 1 || ev[0].Name != "exception" || !strings.Contains(exceptionMessage(ev[0]), errBoom.Error()) {
				t.Errorf("change span %s: events %v, want the change's error recorded", w.id, ev)
			}
		}
	}

	m := tel.metrics(t)
	schema := attribute.String(string(flamingockotel.AttrStage), "shop/schema")
	if got := sum(t, m[flamingockotel.MetricChangesApplied]); got != 2 {
		t.Errorf("applied = %d, want 2", got)
	}
	if got := sum(t, m[flamingockotel.MetricChangesApplied], schema, flamingockotel.AttrProtocol.String(string(audit.TxShared))); got != 1 {
		t.Errorf("applied in shop/schema under TX_SHARED = %d, want 1", got)
	}
	if got := sum(t, m[flamingockotel.MetricChangesFailed], flamingockotel.AttrStage.String("shop/partner")); got != 1 {
		t.Errorf("failed in shop/partner = %d, want 1", got)
	}
	if got := sum(t, m[flamingockotel.MetricChangesRolledBack]); got != 1 {
		t.Errorf("rolled back = %d, want 1", got)
	}
	if got := histCount(t, m[flamingockotel.MetricChangeDuration]); got != 3 {
		t.Errorf("change durations recorded = %d, want 3", got)
	}
	if got := histCount(t, m[flamingockotel.MetricRunDuration], flamingockotel.AttrRunOutcome.String(flamingockotel.RunFailure)); got != 1 {
		t.Errorf("failed run durations recorded = %d, want 1", got)
	}
	if got := histCount(t, m[flamingockotel.MetricLockWait], flamingockotel.AttrLockOutcome.String(flamingockotel.LockAcquired)); got != 1 {
		t.Errorf("lock acquisitions recorded = %d, want 1", got)
	}
	if got := gauge(t, m[flamingockotel.MetricChangesPending]); got != 4 {
		t.Errorf("pending at start = %d, want 4", got)
	}
	if got := gauge(t, m[flamingockotel.MetricIssuesOpen]); got != 0 {
		t.Errorf("issues open = %d, want 0", got)
	}
}

// TestLockWaitThenUpToDate: a run waits for another holder, acquires the
// lock when it lets go, applies; the next run finds everything applied.
func TestLockWaitThenUpToDate(t *testing.T) {
	tel := newTelemetry(t)
	a := newApp(t)
	ctx := context.Background()
	other := audit.Owner{Host: "replica-b", PID: 4242, RunID: "other-run"}
	held, err := a.store.AcquireLock(ctx, other, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	record := tel.listener(t)
	// The other replica finishes as soon as this run starts to wait.
	listener := func(ev flamingock.Event) {
		record(ev)
		if _, ok := ev.(flamingock.LockWaiting); ok {
			if err := a.store.ReleaseLock(ctx, held); err != nil {
				t.Errorf("releasing the other replica's lock: %v", err)
			}
		}
	}
	r := a.runner(t, flamingock.NewPipeline(schemaStage()), flamingock.WithListener(listener), flamingock.WithLockWait(time.Minute))
	first, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !second.UpToDate {
		t.Fatal("second run is not up to date")
	}

	runs := tel.ended(flamingockotel.SpanRun)
	if len(runs) != 2 {
		t.Fatalf("%d run spans, want 2", len(runs))
	}
	wantAttrs(t, runs[0], map[attribute.Key]string{flamingockotel.AttrRunID: first.RunID, flamingockotel.AttrRunOutcome: flamingockotel.RunSuccess})
	wantAttrs(t, runs[1], map[attribute.Key]string{flamingockotel.AttrRunID: second.RunID, flamingockotel.AttrRunOutcome: flamingockotel.RunUpToDate, flamingockotel.AttrUpToDate: "true"})
	if runs[0].Status().Code == codes.Error || runs[1].Status().Code == codes.Error {
		t.Errorf("run span statuses %v, %v: want no error", runs[0].Status(), runs[1].Status())
	}
	if runs[1].StartTime() != second.Started || runs[1].EndTime() != second.Finished {
		t.Errorf("up-to-date run span [%v, %v], want the report's [%v, %v]", runs[1].StartTime(), runs[1].EndTime(), second.Started, second.Finished)
	}

	locks := tel.ended(flamingockotel.SpanLockWait)
	if len(locks) != 1 {
		t.Fatalf("%d lock wait spans, want 1", len(locks))
	}
	wantAttrs(t, locks[0], map[attribute.Key]string{
		flamingockotel.AttrRunID:       first.RunID,
		flamingockotel.AttrHolderHost:  "replica-b",
		flamingockotel.AttrHolderPID:   "4242",
		flamingockotel.AttrHolderRunID: "other-run",
		flamingockotel.AttrLockOutcome: flamingockotel.LockAcquired,
	})
	if locks[0].Parent().SpanID() != runs[0].SpanContext().SpanID() {
		t.Errorf("lock wait span's parent %v, want the run span %v", locks[0].Parent().SpanID(), runs[0].SpanContext().SpanID())
	}
	changes := tel.ended(flamingockotel.SpanChange)
	if len(changes) != 2 {
		t.Fatalf("%d change spans, want 2 (none for the up-to-date run)", len(changes))
	}
	if changes[0].StartTime().Before(locks[0].EndTime()) {
		t.Errorf("first change started at %v, before the lock wait ended at %v", changes[0].StartTime(), locks[0].EndTime())
	}

	m := tel.metrics(t)
	if got := histCount(t, m[flamingockotel.MetricRunDuration], flamingockotel.AttrRunOutcome.String(flamingockotel.RunUpToDate)); got != 1 {
		t.Errorf("up-to-date run durations = %d, want 1", got)
	}
	// A gauge keeps the last value: the up-to-date run found nothing.
	if got := gauge(t, m[flamingockotel.MetricChangesPending]); got != 0 {
		t.Errorf("pending after the up-to-date run = %d, want 0", got)
	}
	h := m[flamingockotel.MetricLockWait].(metricdata.Histogram[float64])
	if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 || h.DataPoints[0].Sum <= 0 {
		t.Errorf("lock wait histogram %+v, want one acquisition that took some time", h.DataPoints)
	}
}

// TestLockTimeout: the holder never lets go; the run gives up.
func TestLockTimeout(t *testing.T) {
	tel := newTelemetry(t)
	a := newApp(t)
	ctx := context.Background()
	if _, err := a.store.AcquireLock(ctx, audit.Owner{Host: "replica-b", PID: 7, RunID: "stuck"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	r := a.runner(t, flamingock.NewPipeline(schemaStage()), flamingock.WithListener(tel.listener(t)), flamingock.WithLockWait(50*time.Millisecond))
	if _, err := r.Run(ctx); !errors.Is(err, flamingock.ErrLockTimeout) {
		t.Fatalf("Run: %v, want ErrLockTimeout", err)
	}
	locks := tel.ended(flamingockotel.SpanLockWait)
	runs := tel.ended(flamingockotel.SpanRun)
	if len(locks) != 1 || len(runs) != 1 {
		t.Fatalf("%d lock wait and %d run spans, want 1 and 1", len(locks), len(runs))
	}
	wantAttrs(t, locks[0], map[attribute.Key]string{flamingockotel.AttrLockOutcome: flamingockotel.LockGaveUp, flamingockotel.AttrHolderRunID: "stuck"})
	if locks[0].Status().Code != codes.Error || runs[0].Status().Code != codes.Error {
		t.Errorf("statuses: lock wait %v, run %v; want both Error", locks[0].Status(), runs[0].Status())
	}
	if got := len(tel.ended(flamingockotel.SpanChange)); got != 0 {
		t.Errorf("%d change spans, want 0", got)
	}
	m := tel.metrics(t)
	if got := histCount(t, m[flamingockotel.MetricLockWait], flamingockotel.AttrLockOutcome.String(flamingockotel.LockGaveUp)); got != 1 {
		t.Errorf("lock give-ups recorded = %d, want 1", got)
	}
	if _, ok := m[flamingockotel.MetricChangesPending]; ok {
		t.Error("a run that never planned recorded a pending count")
	}
}

func exceptionMessage(ev sdktrace.Event) string {
	for _, kv := range ev.Attributes {
		if kv.Key == "exception.message" {
			return kv.Value.AsString()
		}
	}
	return ""
}

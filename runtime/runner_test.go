package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/memory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// ledger is the business system of these tests: a record of effects,
// reached by changes through a registered dependency.
type ledger struct {
	mu      sync.Mutex
	applied []string
}

func (l *ledger) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applied = append(l.applied, s)
}

func (l *ledger) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.applied...)
}

// change builds a non-transactional change the way generated code does:
// its adapter resolves *ledger from deps and calls fn.
func change(id, order string, fn func(context.Context, *ledger) error) flamingock.Change {
	return flamingock.Change{
		ID: id, Order: order, Author: "test", Recovery: flamingock.RecoveryManual, Checksum: "sha256:" + id,
		Source: flamingock.Position{File: "changes/" + id + ".go", Line: 10},
		Needs:  []reflect.Type{flamingock.TypeOf[*ledger]()},
		Apply:  adapter(fn),
	}
}

func adapter(fn func(context.Context, *ledger) error) flamingock.ChangeFunc {
	return func(ctx context.Context, d *targets.Deps) error {
		l, err := targets.Resolve[*ledger](d)
		if err != nil {
			return err
		}
		return fn(ctx, l)
	}
}

func record(id string) func(context.Context, *ledger) error {
	return func(_ context.Context, l *ledger) error { l.add(id); return nil }
}

func failWith(msg string) func(context.Context, *ledger) error {
	return func(context.Context, *ledger) error { return errors.New(msg) }
}

func newRunner(t *testing.T, store audit.Store, l *ledger, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	opts = append([]flamingock.Option{flamingock.WithAuditStore(store), flamingock.WithDependency(l), flamingock.WithLockWait(5 * time.Second)}, opts...)
	r, err := flamingock.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func states(t *testing.T, s audit.Store, id string) string {
	t.Helper()
	return audittest.States(t, s, id)
}

func twoStages() flamingock.Pipeline {
	return flamingock.NewPipeline(
		flamingock.Stage{Name: "one", Changes: []flamingock.Change{change("a", "1", record("a")), change("b", "2", record("b"))}},
		flamingock.Stage{Name: "two", Changes: []flamingock.Change{change("c", "1", record("c"))}},
	)
}

func TestRunAppliesInOrderThenIsUpToDate(t *testing.T) {
	store, l := memory.New(), &ledger{}
	var events []string
	r := newRunner(t, store, l, twoStages(), flamingock.WithService("svc", "1.2.3"), flamingock.WithMetadata(map[string]string{"env": "test"}),
		flamingock.WithListener(func(e flamingock.Event) { events = append(events, fmt.Sprintf("%T", e)) }))
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.list(), ","); got != "a,b,c" {
		t.Fatalf("applied %q, want a,b,c", got)
	}
	if rep.UpToDate || rep.Count(flamingock.ActionApply) != 3 {
		t.Fatalf("report: upToDate=%v applied=%d", rep.UpToDate, rep.Count(flamingock.ActionApply))
	}
	for _, id := range []string{"a", "b", "c"} {
		if got := states(t, store, id); got != "STARTED,APPLIED" {
			t.Errorf("%s history %s, want STARTED,APPLIED", id, got)
		}
	}
	snap, _ := store.Snapshot(context.Background())
	e := snap["c"]
	if e.Stage != "two" || e.Actor != "svc" || e.Metadata["env"] != "test" || e.Metadata["service_version"] != "1.2.3" || e.TxStrategy != audit.NonTx || e.Checksum != "sha256:c" || e.Token <= 0 {
		t.Errorf("entry fields not recorded: %+v", e)
	}
	if _, err := store.LockInfo(context.Background()); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("lock not released: %v", err)
	}

	events = nil
	rep, err = r.Run(context.Background())
	if err != nil || !rep.UpToDate || rep.Count(flamingock.ActionSkip) != 3 {
		t.Fatalf("second run: err=%v upToDate=%v", err, rep.UpToDate)
	}
	if strings.Join(events, ",") != "runtime.RunFinished" {
		t.Errorf("second run should not lock; events %v", events)
	}
	if len(l.list()) != 3 {
		t.Errorf("second run re-applied: %v", l.list())
	}
}

func TestFailureWithRollbackThenReapply(t *testing.T) {
	store, l := memory.New(), &ledger{}
	bad := change("b", "2", failWith("boom"))
	bad.Rollback = adapter(record("undo-b"))
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{change("a", "1", record("a")), bad, change("c", "3", record("c"))}})
	rep, err := newRunner(t, store, l, p).Run(context.Background())
	runErr, ok := errors.AsType[*flamingock.RunError](err)
	if !ok {
		t.Fatalf("want *RunError, got %v", err)
	}
	if runErr.ChangeID != "b" || runErr.State != audit.RolledBack || runErr.Apply == nil || runErr.Apply.Error() != "boom" || runErr.Rollback != nil {
		t.Fatalf("run error %+v", runErr)
	}
	if got := strings.Join(l.list(), ","); got != "a,undo-b" {
		t.Fatalf("effects %q", got)
	}
	if rep.Changes[2].Action != flamingock.ActionApply || rep.Changes[2].State != "" {
		t.Errorf("c should be reported as not reached: %+v", rep.Changes[2])
	}
	if got := states(t, store, "b"); got != "STARTED,ROLLED_BACK" {
		t.Errorf("b history %s", got)
	}
	// ROLLED_BACK → apply again; fix the change as a new build would.
	fixed := change("b", "2", record("b"))
	p[0].Changes[1] = fixed
	if _, err := newRunner(t, store, l, p).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.list(), ","); got != "a,undo-b,b,c" {
		t.Fatalf("effects %q", got)
	}
}

func TestRollbackFailureKeepsBothErrorsAndBlocks(t *testing.T) {
	store, l := memory.New(), &ledger{}
	bad := change("b", "1", failWith("apply broke"))
	bad.Rollback = adapter(failWith("rollback broke"))
	p := flamingock.NewPipeline(
		flamingock.Stage{Name: "s1", Changes: []flamingock.Change{change("a", "1", record("a"))}},
		flamingock.Stage{Name: "s2", Changes: []flamingock.Change{bad, change("c", "2", record("c"))}},
		flamingock.Stage{Name: "s3", Changes: []flamingock.Change{change("d", "1", record("d"))}},
	)
	_, err := newRunner(t, store, l, p).Run(context.Background())
	runErr, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || runErr.Apply.Error() != "apply broke" || runErr.Rollback.Error() != "rollback broke" || runErr.State != audit.RollbackFailed {
		t.Fatalf("got %v", err)
	}
	snap, _ := store.Snapshot(context.Background())
	if e := snap["b"].Error; !strings.Contains(e, "apply broke") || !strings.Contains(e, "rollback broke") {
		t.Errorf("audited error %q lacks one of the errors", e)
	}
	// Next run: b is an issue; s2 and s3 are blocked, nothing runs.
	r := newRunner(t, store, l, p)
	rep, err := r.Run(context.Background())
	if !errors.Is(err, flamingock.ErrIssues) {
		t.Fatalf("want ErrIssues, got %v", err)
	}
	if !strings.Contains(err.Error(), "b (stage s2): last state ROLLBACK_FAILED") || !strings.Contains(err.Error(), "audit fix") {
		t.Errorf("issues error does not explain: %v", err)
	}
	want := map[string]flamingock.Action{"a": flamingock.ActionSkip, "b": flamingock.ActionIssue, "c": flamingock.ActionBlocked, "d": flamingock.ActionBlocked}
	for _, c := range rep.Changes {
		if want[c.ChangeID] != c.Action {
			t.Errorf("%s: action %s, want %s", c.ChangeID, c.Action, want[c.ChangeID])
		}
	}
	if got := strings.Join(l.list(), ","); got != "a" {
		t.Errorf("effects %q", got)
	}
	if err := r.Validate(context.Background()); !errors.Is(err, flamingock.ErrIssues) {
		t.Errorf("Validate: %v", err)
	}
	// Operator says it is in place: the next run skips b and applies c and d.
	if _, err := flamingock.MarkApplied(context.Background(), store, flamingock.Resolution{ChangeID: "b", By: "ops@example.com", Reason: "fixed by hand"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.list(), ","); got != "a,c,d" {
		t.Errorf("effects %q", got)
	}
	h, _ := store.History(context.Background(), audit.HistoryQuery{ChangeID: "b"})
	last := h[len(h)-1]
	if len(h) != 3 || last.State != audit.ManualMarkedAsApplied || last.Actor != "ops@example.com" || last.Reason != "fixed by hand" {
		t.Errorf("history of b: %+v", h)
	}
	if _, err := flamingock.MarkRolledBack(context.Background(), store, flamingock.Resolution{ChangeID: "b", By: "x", Reason: "y"}); !errors.Is(err, flamingock.ErrNoIssue) {
		t.Errorf("resolving a change without an issue: %v", err)
	}
}

func TestRecoveryRetryReappliesWithoutIssue(t *testing.T) {
	store, l := memory.New(), &ledger{}
	attempts := 0
	flaky := change("f", "1", func(_ context.Context, l *ledger) error {
		attempts++
		if attempts == 1 {
			return errors.New("transient")
		}
		l.add("f")
		return nil
	})
	flaky.Recovery = flamingock.RecoveryRetry
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{flaky}})
	if _, err := newRunner(t, store, l, p).Run(context.Background()); err == nil {
		t.Fatal("first run should fail")
	}
	if _, err := newRunner(t, store, l, p).Run(context.Background()); err != nil {
		t.Fatalf("retry run: %v", err)
	}
	if got := states(t, store, "f"); got != "STARTED,FAILED,STARTED,APPLIED" {
		t.Errorf("history %s", got)
	}
}

func TestMarkRolledBackReapplies(t *testing.T) {
	store, l := memory.New(), &ledger{}
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{change("x", "1", failWith("nope"))}})
	if _, err := newRunner(t, store, l, p).Run(context.Background()); err == nil {
		t.Fatal("want failure")
	}
	if _, err := flamingock.MarkRolledBack(context.Background(), store, flamingock.Resolution{ChangeID: "x", By: "ops", Reason: "restored"}); err != nil {
		t.Fatal(err)
	}
	p[0].Changes[0] = change("x", "1", record("x"))
	if _, err := newRunner(t, store, l, p).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := states(t, store, "x"); got != "STARTED,FAILED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED" {
		t.Errorf("history %s", got)
	}
}

func TestChecksumDrift(t *testing.T) {
	store, l := memory.New(), &ledger{}
	p := twoStages()
	if _, err := newRunner(t, store, l, p).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	p[0].Changes[1].Checksum = "sha256:edited"
	rep, err := newRunner(t, store, l, p).Run(context.Background())
	if err != nil || !rep.Changes[1].Drift || rep.Changes[0].Drift {
		t.Fatalf("warn policy: err=%v drift=%v", err, rep.Changes[1].Drift)
	}
	_, err = newRunner(t, store, l, p, flamingock.WithDriftPolicy(flamingock.DriftFail)).Run(context.Background())
	if de, ok := errors.AsType[*flamingock.DriftError](err); !ok || len(de.Changes) != 1 || de.Changes[0].ChangeID != "b" || !errors.Is(err, flamingock.ErrChecksumDrift) {
		t.Fatalf("fail policy: %v", err)
	}
}

func TestDependencyValidationBeforeAnythingRuns(t *testing.T) {
	store := memory.New()
	type missing struct{}
	needy := flamingock.Change{ID: "n", Order: "2", Source: flamingock.Position{File: "c/n.go", Line: 3}, Needs: []reflect.Type{flamingock.TypeOf[*missing]()},
		Apply: flamingock.Func0(func(context.Context) error { return nil })}
	orphan := flamingock.Change{ID: "o", Order: "3", Target: "nowhere", Source: flamingock.Position{File: "c/o.go", Line: 4}, Apply: flamingock.Func0(func(context.Context) error { return nil })}
	l := &ledger{}
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{change("a", "1", record("a")), needy, orphan}})
	_, err := newRunner(t, store, l, p).Run(context.Background())
	de, ok := errors.AsType[*flamingock.DependencyError](err)
	if !ok || len(de.Problems) != 2 {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(de.Problems[0], "c/n.go:3: change \"n\" needs a *runtime_test.missing") || !strings.Contains(de.Problems[1], `target "nowhere" is not registered`) {
		t.Errorf("problems: %q", de.Problems)
	}
	if len(l.list()) != 0 {
		t.Errorf("a change ran before validation failed: %v", l.list())
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	dup := flamingock.NewPipeline(
		flamingock.Stage{Name: "s1", Changes: []flamingock.Change{change("a", "1", record("a"))}},
		flamingock.Stage{Name: "s2", Changes: []flamingock.Change{change("a", "1", record("a"))}},
	)
	_, err := flamingock.New(dup, flamingock.WithLockTTL(time.Millisecond), flamingock.WithLockWait(-1))
	for _, want := range []string{"no audit store", "WithLockTTL", "WithLockWait"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

// The pipeline is validated when something is pending, and by Plan and
// Validate, not by New: a start-up with nothing pending reads no change.
func TestPipelineIsValidatedBeforeAnythingRuns(t *testing.T) {
	dup := flamingock.NewPipeline(
		flamingock.Stage{Name: "s1", Changes: []flamingock.Change{change("a", "1", record("a"))}},
		flamingock.Stage{Name: "s2", Changes: []flamingock.Change{change("a", "1", record("a")), {ID: "b", Order: "2", Source: flamingock.Position{File: "c/b.go", Line: 7}}}},
	)
	l := &ledger{}
	r := newRunner(t, memory.New(), l, dup)
	wants := []string{`change id "a" is declared in stage s1`, `change "b" (c/b.go:7) has no apply function`}
	_, runErr := r.Run(context.Background())
	_, planErr := r.Plan(context.Background())
	valErr := r.Validate(context.Background())
	for name, err := range map[string]error{"Run": runErr, "Plan": planErr, "Validate": valErr} {
		for _, want := range wants {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v does not mention %q", name, err, want)
			}
		}
	}
	if len(l.list()) != 0 {
		t.Errorf("a change ran with an invalid pipeline: %v", l.list())
	}
}

// A stage whose recorded digest does not match its changes (a registry
// edited by hand, or changes appended to a generated stage) is reported.
func TestValidateChecksTheStageDigest(t *testing.T) {
	s := flamingock.Stage{Name: "s", Changes: []flamingock.Change{change("a", "1", record("a"))}}
	s.Digest.Count = 1 // the sum is left zero: wrong
	err := flamingock.NewPipeline(s).Validate()
	if err == nil || !strings.Contains(err.Error(), "stage s: its digest (1 changes") || !strings.Contains(err.Error(), "regenerate") {
		t.Fatalf("got %v", err)
	}
	s.Digest = flamingock.StageDigest{}
	if err := flamingock.NewPipeline(s).Validate(); err != nil {
		t.Fatalf("a stage without a digest: %v", err)
	}
}

func TestPlanIsReadOnly(t *testing.T) {
	store, l := memory.New(), &ledger{}
	r := newRunner(t, store, l, twoStages())
	p, err := r.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Pending() || len(p.Changes) != 3 || p.Changes[0].Action != flamingock.ActionApply || p.Changes[0].Reason != "never applied" {
		t.Fatalf("plan %+v", p.Changes)
	}
	if h, _ := store.History(context.Background(), audit.HistoryQuery{}); len(h) != 0 {
		t.Errorf("plan wrote %d entries", len(h))
	}
	if _, err := store.LockInfo(context.Background()); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("plan took the lock: %v", err)
	}
	if err := r.Validate(context.Background()); !errors.Is(err, flamingock.ErrPending) {
		t.Errorf("Validate = %v, want ErrPending", err)
	}
}

func TestConcurrentRunnersApplyEachChangeOnce(t *testing.T) {
	backend, l := memory.NewBackend(), &ledger{}
	var chs []flamingock.Change
	for i := range 20 {
		id := fmt.Sprintf("c%02d", i)
		chs = append(chs, change(id, fmt.Sprint(i), record(id)))
	}
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: chs})
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		r := newRunner(t, backend.Open(), l, p)
		wg.Go(func() {
			_, err := r.Run(context.Background())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(l.list()); got != 20 {
		t.Fatalf("%d applications, want 20: %v", got, l.list())
	}
}

func TestLeaseLossCancelsTheChangeAndFencesItsWrites(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	backend := memory.NewBackend(memory.WithClock(clock))
	store, intruder := backend.Open(), backend.Open()
	entered := make(chan struct{})
	var cause error
	blocker := change("slow", "1", func(ctx context.Context, _ *ledger) error {
		close(entered)
		<-ctx.Done()
		cause = context.Cause(ctx)
		return cause
	})
	rolledBack := false
	blocker.Rollback = adapter(func(context.Context, *ledger) error { rolledBack = true; return nil })
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{blocker}})
	r := newRunner(t, store, &ledger{}, p, flamingock.WithLockTTL(300*time.Millisecond))
	done := make(chan error)
	go func() { _, err := r.Run(context.Background()); done <- err }()
	<-entered
	// The store's clock jumps past the lease; another instance takes over.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if _, err := intruder.AcquireLock(context.Background(), audit.Owner{Host: "other", RunID: "r2"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if !errors.Is(cause, flamingock.ErrLeaseLost) {
		t.Errorf("change context cause = %v, want ErrLeaseLost", cause)
	}
	runErr, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || !errors.Is(runErr.Audit, audit.ErrFenced) || !errors.Is(err, flamingock.ErrLeaseLost) {
		t.Fatalf("want a run error with a fenced audit write and the lost lease, got %v", err)
	}
	if rolledBack {
		t.Error("the rollback ran after the lease was lost, while another instance may hold the lock")
	}
	if got := states(t, store, "slow"); got != "STARTED" {
		t.Errorf("history %s: the fenced FAILED must not be written", got)
	}
}

func TestCancelledContextStopsCleanly(t *testing.T) {
	store, l := memory.New(), &ledger{}
	ctx, cancel := context.WithCancel(context.Background())
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{
		change("a", "1", func(_ context.Context, l *ledger) error { l.add("a"); cancel(); return nil }),
		change("b", "2", record("b")),
	}})
	_, err := newRunner(t, store, l, p).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if got := states(t, store, "a") + "|" + states(t, store, "b"); got != "STARTED,APPLIED|" {
		t.Errorf("histories %s", got)
	}
	if _, err := store.LockInfo(context.Background()); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("lock not released after cancellation: %v", err)
	}
}

func TestLockWaitTimesOut(t *testing.T) {
	store, l := memory.New(), &ledger{}
	if _, err := store.AcquireLock(context.Background(), audit.Owner{Host: "h", PID: 1, RunID: "holder"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err := newRunner(t, store, l, twoStages(), flamingock.WithLockWait(50*time.Millisecond)).Run(context.Background())
	if !errors.Is(err, flamingock.ErrLockTimeout) || !strings.Contains(err.Error(), "run holder") {
		t.Fatalf("got %v", err)
	}
}

// flakyRefresh passes everything to a real store but makes lease refreshes
// fail the way a store outage does.
type flakyRefresh struct{ audit.Store }

func (f flakyRefresh) RefreshLock(context.Context, audit.Lease, time.Duration) (audit.Lease, error) {
	return audit.Lease{}, errors.New("store unreachable")
}

// When refreshes keep failing, the change must be cancelled while the
// store still considers the lease valid, not after another instance could
// have taken it.
func TestFailingRefreshesCancelBeforeTheLeaseEnds(t *testing.T) {
	store := memory.New()
	validAtCancel := make(chan bool, 1)
	blocker := change("slow", "1", func(ctx context.Context, _ *ledger) error {
		<-ctx.Done()
		cancelledAt := time.Now() // no earlier than the cancellation itself
		info, err := store.LockInfo(context.Background())
		validAtCancel <- err == nil && cancelledAt.Before(info.ExpiresAt)
		return context.Cause(ctx)
	})
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{blocker}})
	// The memory store's clock is the real one, so its expiry and the
	// cancellation time compare directly; the TTL leaves a 200ms margin.
	_, err := newRunner(t, flakyRefresh{store}, &ledger{}, p, flamingock.WithLockTTL(2*time.Second)).Run(context.Background())
	if !errors.Is(err, flamingock.ErrLeaseLost) {
		t.Fatalf("want ErrLeaseLost, got %v", err)
	}
	if !<-validAtCancel {
		t.Fatal("the change was cancelled only after the store's lease had expired")
	}
}

// A shutdown during a failing change still runs its rollback, with a
// context of its own, and records ROLLED_BACK rather than leaving an issue.
func TestRollbackAfterShutdownRunsWithAFreshContext(t *testing.T) {
	store, l := memory.New(), &ledger{}
	ctx, cancel := context.WithCancel(context.Background())
	c := change("x", "1", func(context.Context, *ledger) error { cancel(); return errors.New("interrupted half way") })
	c.Rollback = adapter(func(ctx context.Context, l *ledger) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.add("undo-x")
		return nil
	})
	_, err := newRunner(t, store, l, flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{c}})).Run(ctx)
	runErr, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || runErr.State != audit.RolledBack || runErr.Rollback != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if got := strings.Join(l.list(), ","); got != "undo-x" {
		t.Fatalf("effects %q", got)
	}
}

// A listener that panics must not leave the lock held.
func TestPanickingListenerReleasesTheLock(t *testing.T) {
	store := memory.New()
	r := newRunner(t, store, &ledger{}, twoStages(), flamingock.WithListener(func(e flamingock.Event) {
		if _, ok := e.(flamingock.LockAcquired); ok {
			panic("listener bug")
		}
	}))
	func() {
		defer func() { _ = recover() }()
		_, _ = r.Run(context.Background())
	}()
	if _, err := store.LockInfo(context.Background()); !errors.Is(err, audit.ErrNoLock) {
		t.Fatalf("lock still held after a listener panicked: %v", err)
	}
}

func TestUpToDateFromTheDigest(t *testing.T) {
	store, l := memory.New(), &ledger{}
	r := newRunner(t, store, l, twoStages())
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background())
	if err != nil || !rep.UpToDate || rep.Count(flamingock.ActionSkip) != 3 {
		t.Fatalf("second run: %v up to date %v", err, rep.UpToDate)
	}
	if rep.Changes != nil || rep.Total != 3 || len(rep.Results()) != 3 || !strings.Contains(rep.Results()[0].Reason, "digest matches") {
		t.Fatalf("the second run did not decide from the digest: %d results, total %d", len(rep.Changes), rep.Total)
	}
	// A changed checksum no longer matches the digest: the snapshot decides,
	// and reports the drift.
	p := twoStages()
	p[1].Changes[0].Checksum = "sha256:edited"
	rep, err = newRunner(t, store, l, p).Run(context.Background())
	if err != nil || !rep.UpToDate || !rep.Changes[2].Drift || !strings.Contains(rep.Changes[0].Reason, "applied by run") {
		t.Fatalf("after an edit: err=%v upToDate=%v drift=%v reason=%s", err, rep.UpToDate, rep.Changes[2].Drift, rep.Changes[0].Reason)
	}
}

// TestPlanReportsUnregisteredTargetsAndDependencies: Plan (so plan, status
// and validate) names a change whose target or parameter is not
// registered, with the registered name it was probably meant to be, before
// any Run.
func TestPlanReportsUnregisteredTargetsAndDependencies(t *testing.T) {
	typo := change("typo", "1", record("typo"))
	typo.Target = "ledgr"
	needsString := change("needs-string", "2", record("needs-string"))
	needsString.Needs = append(needsString.Needs, flamingock.TypeOf[string]())
	p := flamingock.NewPipeline(flamingock.Stage{Name: "one", Changes: []flamingock.Change{typo, needsString}})
	r := newRunner(t, memory.New(), &ledger{}, p,
		flamingock.WithTargets(flamingock.NewDependencyTarget("ledger")),
		flamingock.WithDependency(&strings.Builder{}))
	plan, err := r.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := plan.Wiring()
	if w == nil || len(w.Problems) != 2 {
		t.Fatalf("Wiring() = %v, want two problems", w)
	}
	if !strings.Contains(w.Problems[0], `target "ledgr" is not registered`) || !strings.Contains(w.Problems[0], `did you mean "ledger"?`) {
		t.Errorf("target problem: %s", w.Problems[0])
	}
	if !strings.Contains(w.Problems[1], `needs a string`) {
		t.Errorf("dependency problem: %s", w.Problems[1])
	}
	var derr *flamingock.DependencyError
	if err := r.Validate(context.Background()); !errors.As(err, &derr) {
		t.Errorf("Validate = %v, want the *DependencyError", err)
	}
}

// A generated stage carries its digest; the runner trusts it for the
// up-to-date check, but not once the stage's changes no longer number what
// it counts: a change appended to a generated stage is not taken for
// applied, and the run reports the stage as inconsistent instead.
func TestStageDigestIsNotTrustedForOtherChanges(t *testing.T) {
	store, l := memory.New(), &ledger{}
	chs := []flamingock.Change{change("a", "1", record("a")), change("b", "2", record("b"))}
	s := flamingock.Stage{Name: "s", Changes: chs}
	for _, c := range chs {
		s.Digest.Add(audit.ChangeDigest(c.ID, c.Checksum))
	}
	if _, err := newRunner(t, store, l, flamingock.NewPipeline(s)).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := newRunner(t, store, l, flamingock.NewPipeline(s)).Run(context.Background())
	if err != nil || !rep.UpToDate || rep.Changes != nil {
		t.Fatalf("the generated digest did not decide the second run: %v %+v", err, rep)
	}
	s.Changes = append(slices.Clone(chs), change("c", "3", record("c")))
	rep, err = newRunner(t, store, l, flamingock.NewPipeline(s)).Run(context.Background())
	if rep.UpToDate || err == nil || !strings.Contains(err.Error(), "stage s: its digest (2 changes") {
		t.Fatalf("a stage with a change more than its digest counts: up to date %v, err %v", rep.UpToDate, err)
	}
	if got := strings.Join(l.list(), ","); got != "a,b" {
		t.Fatalf("applied %s, want a,b", got)
	}
}

// A generated change has no Needs field: its needs are its FuncN type
// arguments, and they are checked before anything runs just the same.
func TestFuncNNeedsAreValidatedBeforeAnythingRuns(t *testing.T) {
	type missing struct{}
	generated := flamingock.Change{ID: "g", Order: "2", Source: flamingock.Position{File: "c/g.go", Line: 5},
		Apply: flamingock.Func2[*ledger, *missing](func(context.Context, *ledger, *missing) error { return nil })}
	l := &ledger{}
	p := flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{change("a", "1", record("a")), generated}})
	_, err := newRunner(t, memory.New(), l, p).Run(context.Background())
	de, ok := errors.AsType[*flamingock.DependencyError](err)
	if !ok || len(de.Problems) != 1 || !strings.Contains(de.Problems[0], `c/g.go:5: change "g" needs a *runtime_test.missing`) {
		t.Fatalf("got %v", err)
	}
	if len(l.list()) != 0 {
		t.Errorf("a change ran before validation failed: %v", l.list())
	}
}

// TestDependencyTargetValuesAndProviders: NewDependencyTarget provides a
// plain value under its dynamic type and calls a func(*targets.Deps) to
// provide under a type of its choosing, such as an interface.
func TestDependencyTargetValuesAndProviders(t *testing.T) {
	var sb strings.Builder
	var w io.Writer = &sb
	target := flamingock.NewDependencyTarget("t", &sb, func(d *targets.Deps) { targets.Provide(d, w) })
	d := targets.NewDeps(nil)
	target.Provide(d)
	if got, err := targets.Resolve[*strings.Builder](d); err != nil || got != &sb {
		t.Errorf("*strings.Builder: %v, %v", got, err)
	}
	if got, err := targets.Resolve[io.Writer](d); err != nil || got != w {
		t.Errorf("io.Writer: %v, %v", got, err)
	}
	if d.Has(reflect.TypeFor[func(*targets.Deps)]()) {
		t.Error("the provider function itself was provided as a value")
	}
}

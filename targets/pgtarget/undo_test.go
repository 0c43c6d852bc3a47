package pgtarget_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// undoableChange is relTxChange or relPoolChange (by protocol) with a
// rollback that deletes the change's effects, through the transaction for
// a transactional change and the pool otherwise.
func undoableChange(protocol, id, order string, h relHook) flamingock.Change {
	del := func(ctx context.Context, db relDB) error {
		if err := h.at(ctx, id, "undo-begin", db); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, "DELETE FROM effects WHERE change_id = $1", id); err != nil {
			return err
		}
		return h.at(ctx, id, "undo-end", db)
	}
	if protocol == "nontx" {
		c := relPoolChange(id, order, flamingock.RecoveryManual, h)
		c.Rollback = flamingock.Func1[*pgxpool.Pool](func(ctx context.Context, pool *pgxpool.Pool) error {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			return del(ctx, conn)
		})
		return c
	}
	c := relTxChange(id, order, flamingock.RecoveryManual, h)
	c.Rollback = flamingock.Func1[pgx.Tx](func(ctx context.Context, tx pgx.Tx) error { return del(ctx, tx) })
	return c
}

func undoStage(protocol string, ids ...string) flamingock.Pipeline {
	var cs []flamingock.Change
	for i, id := range ids {
		cs = append(cs, undoableChange(protocol, id, string(rune('1'+i)), nil))
	}
	return flamingock.NewPipeline(flamingock.Stage{Name: "undo", Changes: cs})
}

func TestUndoLastTwoThenRunReappliesOnPostgres(t *testing.T) {
	for _, tc := range []struct {
		protocol        string
		strategy        audit.TxStrategy
		applied, undone string
	}{
		{"shared", audit.TxShared, "APPLIED", "APPLIED,ROLLED_BACK"},
		{"separate", audit.TxSeparateWithMarker, "STARTED,APPLIED", "STARTED,APPLIED,STARTED,ROLLED_BACK"},
		{"nontx", audit.NonTx, "STARTED,APPLIED", "STARTED,APPLIED,STARTED,ROLLED_BACK"},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			relParallel(t)
			ctx := context.Background()
			e := relNewEnv(t, tc.protocol)
			p := undoStage(tc.protocol, "one", "two", "three")
			if _, err := e.mustRunner(t, p).Run(ctx); err != nil {
				t.Fatal(err)
			}
			rep, err := e.mustRunner(t, p).Undo(ctx, flamingock.UndoOptions{Last: 2, Actor: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Changes) != 2 || rep.Changes[0].ChangeID != "three" || rep.Changes[1].ChangeID != "two" || rep.Changes[0].Protocol != tc.strategy {
				t.Fatalf("undo results %+v", rep.Changes)
			}
			for id, want := range map[string]int{"one": 1, "two": 0, "three": 0} {
				if got := e.effects(t, id); got != want {
					t.Errorf("%s: %d effects after undo, want %d", id, got, want)
				}
			}
			if got := e.history(t, "two"); got != tc.undone {
				t.Errorf("history of two %s, want %s", got, tc.undone)
			}
			if h := e.entries(t, "two"); !h[len(h)-1].IsUndo() || h[len(h)-1].Actor != "alice" || h[len(h)-1].RunID != rep.RunID {
				t.Errorf("undo entry %+v", h[len(h)-1])
			}
			rep, err = e.mustRunner(t, p).Run(ctx)
			if err != nil || rep.Count(flamingock.ActionApply) != 2 {
				t.Fatalf("re-run: %v, applied %d", err, rep.Count(flamingock.ActionApply))
			}
			for _, id := range []string{"one", "two", "three"} {
				if got := e.effects(t, id); got != 1 {
					t.Errorf("%s: %d effects after the re-run, want 1", id, got)
				}
			}
			if got := e.history(t, "two"); got != tc.undone+","+tc.applied {
				t.Errorf("history of two %s, want %s", got, tc.undone+","+tc.applied)
			}
			e.checkConsistent(t)
		})
	}
}

// An undo started while a run holds the lock waits for it, then undoes
// what that run applied: the two never interleave.
func TestUndoWaitsForARunningRun(t *testing.T) {
	relParallel(t)
	ctx := context.Background()
	e := relNewEnv(t, "shared")
	if _, err := e.mustRunner(t, undoStage("shared", "one", "two")).Run(ctx); err != nil {
		t.Fatal(err)
	}
	inChange, finish := make(chan struct{}), make(chan struct{})
	hold := relHook(func(_ context.Context, _, step string, _ relDB) error {
		if step == "apply-end" {
			close(inChange)
			<-finish
		}
		return nil
	})
	p := flamingock.NewPipeline(flamingock.Stage{Name: "undo", Changes: []flamingock.Change{
		undoableChange("shared", "one", "1", nil), undoableChange("shared", "two", "2", nil), undoableChange("shared", "three", "3", hold),
	}})
	runDone := make(chan error, 1)
	go func() {
		_, err := e.mustRunner(t, p).Run(ctx)
		runDone <- err
	}()
	<-inChange
	waiting := make(chan struct{})
	undo := e.mustRunner(t, p, flamingock.WithListener(func(ev flamingock.Event) {
		if _, ok := ev.(flamingock.LockWaiting); ok {
			close(waiting)
		}
	}))
	undoDone := make(chan error, 1)
	var rep *flamingock.Report
	go func() {
		var err error
		rep, err = undo.Undo(ctx, flamingock.UndoOptions{Last: 1})
		undoDone <- err
	}()
	<-waiting // the undo found the lock held by the run
	close(finish)
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	if err := <-undoDone; err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 || rep.Changes[0].ChangeID != "three" {
		t.Fatalf("the undo undid %+v, want the change the run applied (three)", rep.Changes)
	}
	if got := e.history(t, "three"); got != "APPLIED,ROLLED_BACK" || e.effects(t, "three") != 0 {
		t.Errorf("three: history %s, effects %d", got, e.effects(t, "three"))
	}
	e.checkConsistent(t)
}

// The refusals on PostgreSQL: nothing is touched.
func TestUndoRefusalOnPostgresTouchesNothing(t *testing.T) {
	relParallel(t)
	ctx := context.Background()
	e := relNewEnv(t, "separate")
	p := undoStage("separate", "one", "two")
	plain := relTxChange("plain", "3", flamingock.RecoveryManual, nil)
	p[0].Changes = append(p[0].Changes, plain)
	if _, err := e.mustRunner(t, p).Run(ctx); err != nil {
		t.Fatal(err)
	}
	before := e.history(t, "two")
	_, err := e.mustRunner(t, p).Undo(ctx, flamingock.UndoOptions{Last: 2})
	if !errors.Is(err, flamingock.ErrUndoRefused) || !strings.Contains(err.Error(), `change "plain" has no rollback`) {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "two") != before || e.effects(t, "plain") != 1 || e.effects(t, "two") != 1 {
		t.Errorf("a refused undo changed something: history %s", e.history(t, "two"))
	}
	e.checkConsistent(t)
}

// undoKillingStore dies before an undo of "two" records ROLLED_BACK
// outside a transaction.
type undoKillingStore struct{ *postgres.Store }

func (k undoKillingStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "two" && e.State == audit.RolledBack && e.IsUndo() {
		crashtest.At("before-undone")
	}
	return k.Store.Append(ctx, e)
}

// undoCrashChild undoes "three" and then "two", dying at the step named
// in the rollback of "two" or around its outcome.
func undoCrashChild(ctx context.Context, protocol string) error {
	e, err := relOpenChild(ctx, nil)
	if err != nil {
		return err
	}
	hook := relHook(func(_ context.Context, change, step string, _ relDB) error {
		if change == "two" {
			crashtest.At(step)
		}
		return nil
	})
	p := flamingock.NewPipeline(flamingock.Stage{Name: "undo", Changes: []flamingock.Change{
		undoableChange(protocol, "one", "1", nil), undoableChange(protocol, "two", "2", hook), undoableChange(protocol, "three", "3", nil),
	}})
	// Under the shared protocol the ROLLED_BACK append is inside the
	// transaction, and the target must see the store itself to share it.
	var store audit.Store = undoKillingStore{e.store}
	if protocol == "shared" {
		store = e.store
	}
	r, err := flamingock.New(p, flamingock.WithAuditStore(store), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(time.Second), flamingock.WithLockWait(30*time.Second),
		flamingock.WithListener(func(ev flamingock.Event) {
			if f, ok := ev.(flamingock.ChangeFinished); ok && f.Result.ChangeID == "two" {
				crashtest.At("after-undone")
			}
		}))
	if err != nil {
		return err
	}
	_, err = r.Undo(ctx, flamingock.UndoOptions{Last: 2})
	return err
}

// An undo killed with SIGKILL at each step on PostgreSQL: the next run
// ends with every change applied once, or (outside a transaction, recovery
// manual) with an issue.
func TestUndoCrashAtEveryStepOnPostgres(t *testing.T) {
	t.Parallel()
	cases := []struct {
		protocol, step string
		history        string
		effects        int
		issue          bool
	}{
		{"shared", "undo-begin", "APPLIED", 1, false},
		{"shared", "undo-end", "APPLIED", 1, false},
		{"shared", "after-undone", "APPLIED,ROLLED_BACK,APPLIED", 1, false},
		{"separate", "undo-begin", "STARTED,APPLIED,STARTED,APPLIED", 1, false},
		{"separate", "undo-end", "STARTED,APPLIED,STARTED,APPLIED", 1, false},
		{"separate", "before-undone", "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED", 1, false},
		{"separate", "after-undone", "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED", 1, false},
		{"nontx", "undo-begin", "STARTED,APPLIED,STARTED", 1, true},
		{"nontx", "undo-end", "STARTED,APPLIED,STARTED", 0, true},
		{"nontx", "before-undone", "STARTED,APPLIED,STARTED", 0, true},
		{"nontx", "after-undone", "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED", 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.protocol+"/"+tc.step, func(t *testing.T) {
			relParallel(t)
			ctx := context.Background()
			e := relNewEnv(t, tc.protocol)
			p := undoStage(tc.protocol, "one", "two", "three")
			if _, err := e.mustRunner(t, p).Run(ctx); err != nil {
				t.Fatal(err)
			}
			crashtest.RunUntilKilled(t, tc.step, relChildParams("undo-crash", e.layout, tc.protocol, "manual", ""))
			// The dead child's lease (1s) expires before the run can lock.
			_, err := e.mustRunner(t, p).Run(ctx)
			if tc.issue != errors.Is(err, flamingock.ErrIssues) || (!tc.issue && err != nil) {
				t.Fatalf("recovery run: %v (want issue=%v)", err, tc.issue)
			}
			if got := e.history(t, "two"); got != tc.history {
				t.Errorf("history of two = %s, want %s", got, tc.history)
			}
			if got := e.effects(t, "two"); got != tc.effects {
				t.Errorf("two has %d effects, want %d", got, tc.effects)
			}
			wantThree := 1
			if tc.issue {
				wantThree = 0
			}
			if got := e.effects(t, "three"); got != wantThree {
				t.Errorf("three has %d effects, want %d", got, wantThree)
			}
			e.checkConsistent(t)
		})
	}
}

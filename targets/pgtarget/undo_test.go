package pgtarget_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// undoableChange is relTxChange or relPoolChange (by protocol) with a
// rollback that deletes the change's effects, through the transaction for
// a transactional change and the pool otherwise.
func undoableChange(protocol, id, order string, h relHook) flamingock.Change {
	if protocol == "nontx" {
		c := relPoolChange(id, order, flamingock.RecoveryManual, h)
		c.Rollback = flamingock.Func1[*pgxpool.Pool](func(ctx context.Context, pool *pgxpool.Pool) error {
			_, err := pool.Exec(ctx, "DELETE FROM effects WHERE change_id = $1", id)
			return err
		})
		return c
	}
	c := relTxChange(id, order, flamingock.RecoveryManual, h)
	c.Rollback = flamingock.Func1[pgx.Tx](func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM effects WHERE change_id = $1", id)
		return err
	})
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

package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/memory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// undoable gives change c a rollback that records "undo-<id>" in the
// ledger.
func undoable(c flamingock.Change) flamingock.Change {
	c.Rollback = adapter(record("undo-" + c.ID))
	return c
}

func undoableStages() flamingock.Pipeline {
	return flamingock.NewPipeline(
		flamingock.Stage{Name: "one", Changes: []flamingock.Change{undoable(change("a", "1", record("a"))), undoable(change("b", "2", record("b")))}},
		flamingock.Stage{Name: "two", Changes: []flamingock.Change{undoable(change("c", "1", record("c")))}},
	)
}

// Undo crosses stages, last applied first, and PlanUndo writes nothing.
func TestUndoAcrossStagesInReverseOrder(t *testing.T) {
	ctx := context.Background()
	store, l := memory.New(), &ledger{}
	r := newRunner(t, store, l, undoableStages())
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := r.PlanUndo(ctx, flamingock.UndoOptions{To: "a"})
	if err != nil || len(plan.Refusals) != 0 || len(plan.Changes) != 2 || plan.Changes[0].Change.ID != "c" || plan.Changes[1].Change.ID != "b" {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	if got := states(t, store, "c"); got != "STARTED,APPLIED" {
		t.Fatalf("PlanUndo wrote: %s", got)
	}
	if _, err := r.Undo(ctx, flamingock.UndoOptions{To: "a"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.list(), ","); got != "a,b,c,undo-c,undo-b" {
		t.Fatalf("ledger %s", got)
	}
	p, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pc := p.Changes[2]; pc.Action != flamingock.ActionApply || !strings.HasPrefix(pc.Reason, "undone by run ") {
		t.Errorf("plan after the undo: %s %q", pc.Action, pc.Reason)
	}
}

// An undo confirmed for one list refuses when, under the lock, the list
// is another: here a run applied one more change in between.
func TestUndoRefusesWhenTheConfirmedListChanged(t *testing.T) {
	ctx := context.Background()
	store, l := memory.New(), &ledger{}
	short := flamingock.NewPipeline(undoableStages()[0])
	if _, err := newRunner(t, store, l, short).Run(ctx); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, store, l, undoableStages())
	plan, err := r.PlanUndo(ctx, flamingock.UndoOptions{Last: 1})
	if err != nil || len(plan.Changes) != 1 || plan.Changes[0].Change.ID != "b" {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	if _, err := r.Run(ctx); err != nil { // applies c
		t.Fatal(err)
	}
	_, err = r.Undo(ctx, flamingock.UndoOptions{Last: 1, Confirmed: []string{"b"}})
	if !errors.Is(err, flamingock.ErrUndoRefused) || !strings.Contains(err.Error(), "now [c], not the confirmed [b]") {
		t.Fatalf("got %v", err)
	}
	if got := states(t, store, "c"); got != "STARTED,APPLIED" {
		t.Errorf("c: %s after a refused undo", got)
	}
}

// A change being applied by a run that holds the lock is refused by the
// dry run (an undo itself would wait for the lock).
func TestPlanUndoRefusesARunningChange(t *testing.T) {
	ctx := context.Background()
	store, l := memory.New(), &ledger{}
	r := newRunner(t, store, l, undoableStages())
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	lease, err := store.AcquireLock(ctx, audit.Owner{Host: "h", PID: 1, RunID: "other"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, audit.Entry{RunID: "other", ChangeID: "c", State: audit.Started, TxStrategy: audit.NonTx, Recovery: "manual", Token: lease.Token}); err != nil {
		t.Fatal(err)
	}
	plan, err := r.PlanUndo(ctx, flamingock.UndoOptions{Last: 1})
	if err != nil || len(plan.Refusals) != 1 || !strings.Contains(plan.Refusals[0], `change "c" is being applied by run other`) {
		t.Fatalf("plan %+v, %v", plan, err)
	}
}

package cbtarget_test

import (
	"context"
	"errors"
	"testing"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cbtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

func TestSharedTransactionCommitsChangeWithItsEntry(t *testing.T) {
	e := newEnv(t, true)
	rep, err := e.runner(t, stage(e.txChange("a", "1", hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxShared || e.history(t, "a") != "APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
	// A second run finds nothing pending.
	rep, err = e.runner(t, stage(e.txChange("a", "1", hooks{}, nil))).Run(context.Background())
	if err != nil || !rep.UpToDate || e.effects(t, "a") != 1 {
		t.Fatalf("second run: up to date %v, effects %d, %v", rep.UpToDate, e.effects(t, "a"), err)
	}
}

func TestSharedTransactionFailureLeavesNothingThenReapplies(t *testing.T) {
	e := newEnv(t, true)
	_, err := e.runner(t, stage(e.txChange("a", "1", hooks{}, errBoom))).Run(context.Background())
	if re, ok := errors.AsType[*flamingock.RunError](err); !ok || !errors.Is(re.Apply, errBoom) || re.State != audit.Failed {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "a") != "FAILED" || e.effects(t, "a") != 0 {
		t.Fatalf("history %s effects %d: the failed change must be rolled back", e.history(t, "a"), e.effects(t, "a"))
	}
	if _, err := e.coll.Get(e.effectKey("a"), nil); !errors.Is(err, gocb.ErrDocumentNotFound) {
		t.Fatalf("the rolled-back insert left a document: %v", err)
	}
	if e.latest(t, "a").TxStrategy != audit.TxShared {
		t.Fatalf("strategy %s", e.latest(t, "a").TxStrategy)
	}
	if _, err := e.runner(t, stage(e.txChange("a", "1", hooks{}, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "FAILED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
}

// A change that already ran in a previous stage's transaction and fails
// later must have its own writes undone, not the earlier change's.
func TestSharedTransactionRollbackKeepsEarlierChanges(t *testing.T) {
	e := newEnv(t, true)
	_, err := e.runner(t, stage(e.txChange("a", "1", hooks{}, nil), e.txChange("b", "2", hooks{}, errBoom))).Run(context.Background())
	if err == nil {
		t.Fatal("want b to fail")
	}
	if e.history(t, "a") != "APPLIED" || e.effects(t, "a") != 1 || e.history(t, "b") != "FAILED" || e.effects(t, "b") != 0 {
		t.Fatalf("a: %s/%d b: %s/%d", e.history(t, "a"), e.effects(t, "a"), e.history(t, "b"), e.effects(t, "b"))
	}
}

func TestSeparateTransactionWritesMarker(t *testing.T) {
	e := newEnv(t, false)
	rep, err := e.runner(t, stage(e.txChange("a", "1", hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxSeparateWithMarker || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
	m, found, err := e.target.ReadMarker(context.Background(), "a")
	if err != nil || !found || m.Token != e.latest(t, "a").Token || m.RunID != rep.RunID {
		t.Fatalf("marker %+v found=%v err=%v", m, found, err)
	}
}

func TestSeparateTransactionFailureRollsBackThenReapplies(t *testing.T) {
	e := newEnv(t, false)
	if _, err := e.runner(t, stage(e.txChange("a", "1", hooks{}, errBoom))).Run(context.Background()); err == nil {
		t.Fatal("want failure")
	}
	if e.history(t, "a") != "STARTED,FAILED" || e.effects(t, "a") != 0 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
	if _, found, _ := e.target.ReadMarker(context.Background(), "a"); found {
		t.Fatal("a rolled-back transaction left a marker")
	}
	if _, err := e.runner(t, stage(e.txChange("a", "1", hooks{}, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "STARTED,FAILED,STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
}

// WriteMarker must refuse to replace a marker at or above since: another
// attempt committed the change.
func TestWriteMarkerSinceRule(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	write := func(token, since int64) error {
		tx, err := e.target.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = tx.WriteMarker(ctx, targets.Marker{ChangeID: "a", RunID: "r", Token: token}, since)
		if err != nil {
			if rerr := tx.Rollback(ctx); rerr != nil {
				t.Fatalf("rollback: %v", rerr)
			}
			return err
		}
		return tx.Commit(ctx)
	}
	if err := write(5, 0); err != nil {
		t.Fatalf("first marker: %v", err)
	}
	var conflict *targets.MarkerConflictError
	if err := write(7, 5); !errors.As(err, &conflict) || conflict.Existing.Token != 5 {
		t.Fatalf("marker at since: got %v, want a conflict with token 5", err)
	}
	if err := write(7, 6); err != nil {
		t.Fatalf("marker below since: %v", err)
	}
	if m, found, err := e.target.ReadMarker(ctx, "a"); err != nil || !found || m.Token != 7 {
		t.Fatalf("marker %+v %v %v, want token 7", m, found, err)
	}
}

func TestNonTransactionalChangeAndItsRollback(t *testing.T) {
	e := newEnv(t, true)
	rep, err := e.runner(t, stage(e.kvChange("a", "1", flamingock.RecoveryManual, hooks{}, nil, true))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.NonTx || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
	_, err = e.runner(t, stage(e.kvChange("a", "1", flamingock.RecoveryManual, hooks{}, nil, true), e.kvChange("b", "2", flamingock.RecoveryManual, hooks{}, errBoom, true))).Run(context.Background())
	if re, ok := errors.AsType[*flamingock.RunError](err); !ok || re.State != audit.RolledBack {
		t.Fatalf("got %v, want a ROLLED_BACK run error", err)
	}
	if e.history(t, "b") != "STARTED,ROLLED_BACK" || e.effects(t, "b") != 0 {
		t.Fatalf("b: history %s effects %d", e.history(t, "b"), e.effects(t, "b"))
	}
}

func TestNonTransactionalChangeReceivesEveryHandle(t *testing.T) {
	e := newEnv(t, true)
	got := map[string]bool{}
	c := flamingock.Change{
		ID: "handles", Order: "1", Target: "cb", Recovery: flamingock.RecoveryManual, Checksum: "x",
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			if v, err := targets.Resolve[*gocb.Cluster](d); err == nil && v == e.cluster {
				got["cluster"] = true
			}
			if v, err := targets.Resolve[*gocb.Bucket](d); err == nil && v.Name() == cbtest.Bucket {
				got["bucket"] = true
			}
			if v, err := targets.Resolve[*gocb.Scope](d); err == nil && v.Name() == "_default" {
				got["scope"] = true
			}
			if v, err := targets.Resolve[*gocb.Collection](d); err == nil && v.Name() == "_default" {
				got["collection"] = true
			}
			return nil
		}),
	}
	if _, err := e.runner(t, stage(c)).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("handles received: %v", got)
	}
}

func TestStoreOnAnotherConnectionIsNotShared(t *testing.T) {
	e := newEnv(t, true)
	if _, ok := e.target.SharedAudit(e.store); !ok {
		t.Fatal("the store on the target's own cluster is not shared")
	}
	other := newEnv(t, true) // another connection
	if _, ok := e.target.SharedAudit(other.store); ok {
		t.Fatal("a store on another connection was taken for shared")
	}
}

package sqltarget_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

type reflectType = reflect.Type

func TestSharedTransactionCommitsChangeWithItsEntry(t *testing.T) {
	e := newEnv(t, true)
	rep, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxShared || e.history(t, "a") != "APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
}

func TestSharedTransactionFailureLeavesNothingThenReapplies(t *testing.T) {
	e := newEnv(t, true)
	_, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, errBoom))).Run(context.Background())
	if re, ok := errors.AsType[*flamingock.RunError](err); !ok || !errors.Is(re.Apply, errBoom) || re.State != audit.Failed {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "a") != "FAILED" || e.effects(t, "a") != 0 {
		t.Fatalf("history %s effects %d: the failed change must be rolled back", e.history(t, "a"), e.effects(t, "a"))
	}
	if e.latest(t, "a").TxStrategy != audit.TxShared {
		t.Fatalf("strategy %s", e.latest(t, "a").TxStrategy)
	}
	if _, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "FAILED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
}

func TestSeparateTransactionWritesMarker(t *testing.T) {
	e := newEnv(t, false)
	rep, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxSeparateWithMarker || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s", rep.Changes[0].Protocol, e.history(t, "a"))
	}
	m, found, err := e.target.ReadMarker(context.Background(), "a")
	if err != nil || !found || m.Token != e.latest(t, "a").Token || m.RunID != rep.RunID {
		t.Fatalf("marker %+v found=%v err=%v", m, found, err)
	}
}

func TestSeparateTransactionFailureRollsBackThenReapplies(t *testing.T) {
	e := newEnv(t, false)
	if _, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, errBoom))).Run(context.Background()); err == nil {
		t.Fatal("want failure")
	}
	if e.history(t, "a") != "STARTED,FAILED" || e.effects(t, "a") != 0 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
	if _, found, _ := e.target.ReadMarker(context.Background(), "a"); found {
		t.Fatal("a rolled-back transaction left a marker")
	}
	if _, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "STARTED,FAILED,STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
}

// A marker older than the change's latest entry (left by an attempt that
// was later rolled back by an operator) must not count as a commit.
func TestStaleMarkerIsIgnoredAndReplaced(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	if _, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(ctx); err != nil {
		t.Fatal(err)
	}
	old, _, _ := e.target.ReadMarker(ctx, "a")
	// Fake nothing: record, under the lock, a newer non-transactional attempt
	// that an operator then rolled back, as a real history could hold.
	l, err := e.store.AcquireLock(ctx, audit.Owner{Host: "ops"}, 10e9)
	if err != nil {
		t.Fatal(err)
	}
	latest := e.latest(t, "a")
	latest.State, latest.RunID, latest.Token, latest.Reason = audit.ManualMarkedAsRolledBack, "ops", l.Token, "restored by hand"
	if _, err := e.store.Append(ctx, latest); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ReleaseLock(ctx, l); err != nil {
		t.Fatal(err)
	}
	rep, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Action != flamingock.ActionApply || e.effects(t, "a") != 2 {
		t.Fatalf("action %s effects %d", rep.Changes[0].Action, e.effects(t, "a"))
	}
	m, _, _ := e.target.ReadMarker(ctx, "a")
	if m.Token <= old.Token || m.RunID != rep.RunID {
		t.Fatalf("marker not replaced: old %+v new %+v", old, m)
	}
}

func TestNonTransactionalChangeGetsTheDB(t *testing.T) {
	e := newEnv(t, true)
	rep, err := e.runner(t, e.store, stage(dbChange("a", "1", flamingock.RecoveryManual, hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.NonTx || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s", rep.Changes[0].Protocol, e.history(t, "a"))
	}
}

func TestTransactionalChangeAskingForTheDBIsRejectedBeforeRunning(t *testing.T) {
	e := newEnv(t, true)
	c := dbChange("a", "1", flamingock.RecoveryManual, hooks{}, nil)
	c.Transactional = true
	_, err := e.runner(t, e.store, stage(c)).Run(context.Background())
	if _, ok := errors.AsType[*flamingock.DependencyError](err); !ok {
		t.Fatalf("want a dependency error, got %v", err)
	}
	if e.effects(t, "a") != 0 {
		t.Fatal("change ran")
	}
}

func TestMarkerTableNameIsValidated(t *testing.T) {
	e := newEnv(t, true)
	for _, bad := range []string{"", "x; DROP TABLE effects", `a"b`, "1abc", string(make([]byte, 70))} {
		if _, err := newTarget(e, bad); err == nil {
			t.Errorf("marker table %q accepted", bad)
		}
	}
	if _, err := newTarget(e, "my_markers"); err != nil {
		t.Error(err)
	}
}

// ReadMarker serves Plan, a dry run: it must not create the marker table.
func TestReadMarkerDoesNotWrite(t *testing.T) {
	e := newEnv(t, false)
	if _, found, err := e.target.ReadMarker(context.Background(), "a"); err != nil || found {
		t.Fatalf("found=%v err=%v", found, err)
	}
	var n int
	if err := e.targetDB.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'flamingock_marker'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("marker table created by a read (count %d, err %v)", n, err)
	}
}

// Plan is a dry run: for an attempt left STARTED under the marker protocol
// it says the run will consult the marker, and it touches no target.
func TestPlanDoesNotReadMarkers(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	l, err := e.store.AcquireLock(ctx, audit.Owner{Host: "h"}, 10e9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(ctx, audit.Entry{RunID: "r1", ChangeID: "a", State: audit.Started, TxStrategy: audit.TxSeparateWithMarker, Token: l.Token}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ReleaseLock(ctx, l); err != nil {
		t.Fatal(err)
	}
	p, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pc := p.Changes[0]; pc.Action != flamingock.ActionApply || !strings.Contains(pc.Reason, "reads its commit marker first") {
		t.Fatalf("planned %s: %s", pc.Action, pc.Reason)
	}
	var n int
	if err := e.targetDB.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'flamingock_marker'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("plan touched the target (marker table count %d, err %v)", n, err)
	}
}

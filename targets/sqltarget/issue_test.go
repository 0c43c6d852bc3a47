package sqltarget_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// An unknown state on the latest entry of a shared-transaction change is
// an issue: nothing says its transaction did not commit, so the run must
// neither skip it nor apply it again. An operator's MarkRolledBack
// resolves it like any other issue.
func TestUnknownStateOnASharedChangeIsAnIssue(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	if _, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, errBoom))).Run(ctx); err == nil {
		t.Fatal("the failing change succeeded")
	}
	if got := e.latest(t, "a"); got.State != audit.Failed || got.TxStrategy != audit.TxShared {
		t.Fatalf("latest of a: %s under %s, want FAILED under TX_SHARED", got.State, got.TxStrategy)
	}
	for _, q := range []string{
		`UPDATE flamingock_audit SET state = 'HALF_DONE' WHERE change_id = 'a' AND state = 'FAILED'`,
		`UPDATE flamingock_audit_latest SET state = 'HALF_DONE' WHERE change_id = 'a'`,
	} {
		if _, err := e.targetDB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	r := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil)))
	if _, err := r.Run(ctx); !errors.Is(err, flamingock.ErrIssues) {
		t.Fatalf("run over an unknown state: %v, want an issue", err)
	}
	if n := e.effects(t, "a"); n != 0 {
		t.Fatalf("the change was applied over an unknown state (%d effects)", n)
	}
	p, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if is := p.Issues(); len(is) != 1 || is[0].Latest.State != "HALF_DONE" {
		t.Errorf("plan issues: %v, want a in HALF_DONE", is)
	}
	if _, err := flamingock.MarkRolledBack(ctx, e.store, flamingock.Resolution{ChangeID: "a", By: "ops", Reason: "no effect of a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.effects(t, "a"); n != 1 {
		t.Errorf("effects of a after the resolution: %d, want 1", n)
	}
}

package pgtarget_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// An unknown state on the latest entry of a shared-transaction change is
// an issue: nothing says its transaction did not commit, so the run must
// neither skip it nor apply it again. An operator's MarkRolledBack
// resolves it like any other issue.
func TestUnknownStateOnASharedChangeIsAnIssue(t *testing.T) {
	schema := pgtest.New(t)
	pool := schema.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE items (id text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	run := func(fail bool) error {
		r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{txChange("a", "1", fail)}}),
			flamingock.WithAuditStore(store), flamingock.WithTargets(tg))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Run(ctx)
		return err
	}
	items := func() int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := run(true); err == nil {
		t.Fatal("the failing change succeeded")
	}
	// FAILED under TX_SHARED becomes a state nobody knows.
	for _, q := range []string{
		`UPDATE flamingock_audit SET state = 'HALF_DONE' WHERE change_id = 'a' AND state = 'FAILED'`,
		`UPDATE flamingock_audit_latest SET state = 'HALF_DONE' WHERE change_id = 'a'`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(false); !errors.Is(err, flamingock.ErrIssues) {
		t.Fatalf("run over an unknown state: %v, want an issue", err)
	}
	if n := items(); n != 0 {
		t.Fatalf("the change was applied over an unknown state (%d rows)", n)
	}
	v, err := audit.ReadView(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if is := v.Issues(); len(is) != 1 || is[0].ChangeID != "a" {
		t.Errorf("issues in the view: %v, want a", is)
	}
	if _, err := flamingock.MarkRolledBack(ctx, store, flamingock.Resolution{ChangeID: "a", By: "ops", Reason: "items has no row a"}); err != nil {
		t.Fatal(err)
	}
	if err := run(false); err != nil {
		t.Fatal(err)
	}
	if n := items(); n != 1 {
		t.Errorf("items after the resolution: %d rows, want 1", n)
	}
}

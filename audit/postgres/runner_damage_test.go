package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// TestRunnerOverADamagedTrail runs a real pipeline (shared transactions on
// one pool) over an audit trail damaged the ways issue 12 found: the next
// run neither applies a change again nor disagrees with Plan (what
// `status` shows), and a lost history stops everything instead of starting
// over.
func TestRunnerOverADamagedTrail(t *testing.T) {
	schema := pgtest.New(t)
	pool := schema.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE effects (id text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	change := func(id, order string) flamingock.Change {
		return flamingock.Change{
			ID: id, Order: order, Author: "test", Target: "db", Transactional: true,
			Recovery: flamingock.RecoveryManual, Checksum: "sha256:" + id,
			Needs: []reflect.Type{flamingock.TypeOf[pgx.Tx]()},
			Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
				tx, err := targets.Resolve[pgx.Tx](d)
				if err != nil {
					return err
				}
				_, err = tx.Exec(ctx, "INSERT INTO effects VALUES ($1)", id)
				return err
			}),
		}
	}
	runner := func() (*flamingock.Runner, error) {
		store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
		if err != nil {
			return nil, err
		}
		tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
		if err != nil {
			t.Fatal(err)
		}
		return flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{change("one", "1"), change("two", "2")}}),
			flamingock.WithAuditStore(store), flamingock.WithTargets(tg))
	}
	effects := func() map[string]int {
		t.Helper()
		rows, _ := pool.Query(ctx, "SELECT id FROM effects")
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, id := range ids {
			n[id]++
		}
		return n
	}
	// plannedApply is what status would show as pending.
	plannedApply := func(r *flamingock.Runner) []string {
		t.Helper()
		p, err := r.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range p.Changes {
			if c.Action != flamingock.ActionSkip {
				out = append(out, c.Change.ID+":"+string(c.Action))
			}
		}
		return out
	}
	run := func(step string, wantPending []string, wantEffects map[string]int) {
		t.Helper()
		r, err := runner()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := plannedApply(r); !reflect.DeepEqual(got, wantPending) {
			t.Errorf("%s: Plan shows %v pending, want %v", step, got, wantPending)
		}
		rep, err := r.Run(ctx)
		if err != nil {
			t.Fatalf("%s: Run: %v", step, err)
		}
		if rep.UpToDate != (len(wantPending) == 0) {
			t.Errorf("%s: Run says up to date %v, Plan showed %v pending", step, rep.UpToDate, wantPending)
		}
		if got := effects(); !reflect.DeepEqual(got, wantEffects) {
			t.Errorf("%s: effects %v, want %v", step, got, wantEffects)
		}
	}
	run("first run", []string{"one:apply", "two:apply"}, map[string]int{"one": 1, "two": 1})

	// Bug 2: a dropped latest-state table made every change run again.
	if _, err := pool.Exec(ctx, "DROP TABLE flamingock_audit_latest"); err != nil {
		t.Fatal(err)
	}
	run("latest-state table dropped", nil, map[string]int{"one": 1, "two": 1})

	// A hand edit of the latest state: the runner's one-read check must
	// not say "up to date" while status says FAILED; both follow the
	// history, which says APPLIED.
	if _, err := pool.Exec(ctx, "UPDATE flamingock_audit_latest SET state = 'FAILED' WHERE change_id = 'two'"); err != nil {
		t.Fatal(err)
	}
	run("latest state edited by hand", nil, map[string]int{"one": 1, "two": 1})

	// An operator deletes two's history to have it run again: Plan and
	// Run agree that it is pending, and it runs once.
	if _, err := pool.Exec(ctx, "DELETE FROM flamingock_audit WHERE change_id = 'two'"); err != nil {
		t.Fatal(err)
	}
	run("two's history deleted by hand", []string{"two:apply"}, map[string]int{"one": 1, "two": 2})

	// The latest state put back by hand, after the history rows were
	// deleted and a read had rebuilt without them: no history entry is
	// behind it, so two is pending for Plan and Run alike, and runs.
	if _, err := pool.Exec(ctx, "DELETE FROM flamingock_audit WHERE change_id = 'two'"); err != nil {
		t.Fatal(err)
	}
	if store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name)); err != nil {
		t.Fatal(err)
	} else if snap, err := store.Snapshot(ctx); err != nil || len(snap) != 1 {
		t.Fatalf("snapshot after two's history was deleted again: %v (%v), want only one", snap, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO flamingock_audit_latest SELECT * FROM jsonb_populate_record(NULL::flamingock_audit_latest,
		(SELECT to_jsonb(l) || jsonb_build_object('change_id', 'two') FROM flamingock_audit_latest AS l WHERE change_id = 'one'))`); err != nil {
		t.Fatal(err)
	}
	run("two's latest state inserted by hand", []string{"two:apply"}, map[string]int{"one": 1, "two": 3})

	// Bug 1: a dropped history was re-created empty and the trail started
	// over.
	if _, err := pool.Exec(ctx, "DROP TABLE flamingock_audit"); err != nil {
		t.Fatal(err)
	}
	if _, err := runner(); !errors.Is(err, audit.ErrHistoryMissing) {
		t.Errorf("opening over a dropped history: %v, want ErrHistoryMissing", err)
	}
	if got := effects(); !reflect.DeepEqual(got, map[string]int{"one": 1, "two": 3}) {
		t.Errorf("effects after the refusal %v", got)
	}
}

package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// TestRunnerOverADamagedTrail runs a real pipeline (the changes and their
// audit entries share transactions on one pool) over an audit trail damaged
// by hand with SQL: the next run neither applies a change again nor
// disagrees with Plan (what `status` shows), and a lost history stops
// everything instead of starting the trail over.
func TestRunnerOverADamagedTrail(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	exec(t, db, "CREATE TABLE effects (id VARCHAR(64) NOT NULL) ENGINE=InnoDB")
	change := func(id, order string) flamingock.Change {
		return flamingock.Change{
			ID: id, Order: order, Author: "test", Target: "db", Transactional: true,
			Recovery: flamingock.RecoveryManual, Checksum: "sha256:" + id,
			Needs: []reflect.Type{flamingock.TypeOf[*sql.Tx]()},
			Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
				tx, err := targets.Resolve[*sql.Tx](d)
				if err != nil {
					return err
				}
				_, err = tx.ExecContext(ctx, "INSERT INTO effects VALUES (?)", id)
				return err
			}),
		}
	}
	runner := func() (*flamingock.Runner, error) {
		store, err := mysql.New(ctx, db)
		if err != nil {
			return nil, err
		}
		tg, err := sqltarget.New("db", db)
		if err != nil {
			t.Fatal(err)
		}
		return flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{change("one", "1"), change("two", "2")}}),
			flamingock.WithAuditStore(store), flamingock.WithTargets(tg))
	}
	effects := func() map[string]int {
		t.Helper()
		rows, err := db.QueryContext(ctx, "SELECT id FROM effects")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := map[string]int{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			n[id]++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
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

	exec(t, db, "DROP TABLE flamingock_audit_latest")
	run("latest-state table dropped", nil, map[string]int{"one": 1, "two": 1})

	// A hand edit of the latest state: the runner's one-read check must
	// not say "up to date" while status says FAILED; both follow the
	// history, which says APPLIED.
	exec(t, db, "UPDATE flamingock_audit_latest SET state = 'FAILED' WHERE change_id = 'two'")
	run("latest state edited by hand", nil, map[string]int{"one": 1, "two": 1})

	exec(t, db, "DROP TABLE flamingock_audit_digest")
	run("digest table dropped", nil, map[string]int{"one": 1, "two": 1})

	// An operator deletes two's history to have it run again: Plan and
	// Run agree that it is pending, and it runs once.
	exec(t, db, "DELETE FROM flamingock_audit WHERE change_id = 'two'")
	run("two's history deleted by hand", []string{"two:apply"}, map[string]int{"one": 1, "two": 2})

	exec(t, db, "DROP TABLE flamingock_audit")
	if _, err := runner(); !errors.Is(err, audit.ErrHistoryMissing) {
		t.Errorf("opening over a dropped history: %v, want ErrHistoryMissing", err)
	}
	if got := effects(); !reflect.DeepEqual(got, map[string]int{"one": 1, "two": 2}) {
		t.Errorf("effects after the refusal %v", got)
	}
}

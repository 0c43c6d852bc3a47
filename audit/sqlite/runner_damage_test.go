package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// TestRunnerOverADamagedTrail runs a real pipeline (shared transactions on
// one database) over an audit trail damaged the ways issue 12 found: the
// next run neither applies a change again nor disagrees with Plan (what
// `status` shows), and a lost history stops everything instead of starting
// over.
func TestRunnerOverADamagedTrail(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.OpenDB(tempPath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE effects (id TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
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
		store, err := sqlite.New(ctx, db)
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
		rows, err := db.Query("SELECT id FROM effects")
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
		return n
	}
	run := func(step string, wantPending []string, wantEffects map[string]int) {
		t.Helper()
		r, err := runner()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		p, err := r.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pending []string
		for _, c := range p.Changes {
			if c.Action != flamingock.ActionSkip {
				pending = append(pending, c.Change.ID+":"+string(c.Action))
			}
		}
		if !reflect.DeepEqual(pending, wantPending) {
			t.Errorf("%s: Plan shows %v pending, want %v", step, pending, wantPending)
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
	if _, err := db.Exec("DROP TABLE flamingock_audit_latest"); err != nil {
		t.Fatal(err)
	}
	run("latest-state table dropped", nil, map[string]int{"one": 1, "two": 1})

	if _, err := db.Exec("UPDATE flamingock_audit_latest SET state = 'FAILED' WHERE change_id = 'two'"); err != nil {
		t.Fatal(err)
	}
	run("latest state edited by hand", nil, map[string]int{"one": 1, "two": 1})

	if _, err := db.Exec("DELETE FROM flamingock_audit WHERE change_id = 'two'"); err != nil {
		t.Fatal(err)
	}
	run("two's history deleted by hand", []string{"two:apply"}, map[string]int{"one": 1, "two": 2})

	// The latest state put back by hand, after the history rows were
	// deleted and a read had rebuilt without them: no history entry is
	// behind it, so two is pending for Plan and Run alike, and runs.
	if _, err := db.Exec("DELETE FROM flamingock_audit WHERE change_id = 'two'"); err != nil {
		t.Fatal(err)
	}
	if store, err := sqlite.New(ctx, db); err != nil {
		t.Fatal(err)
	} else if snap, err := store.Snapshot(ctx); err != nil || len(snap) != 1 {
		t.Fatalf("snapshot after two's history was deleted again: %v (%v), want only one", snap, err)
	}
	if _, err := db.Exec(`CREATE TEMP TABLE forged AS SELECT * FROM flamingock_audit_latest WHERE change_id = 'one';
		UPDATE forged SET change_id = 'two';
		INSERT INTO flamingock_audit_latest SELECT * FROM forged`); err != nil {
		t.Fatal(err)
	}
	run("two's latest state inserted by hand", []string{"two:apply"}, map[string]int{"one": 1, "two": 3})

	if _, err := db.Exec("DROP TABLE flamingock_audit"); err != nil {
		t.Fatal(err)
	}
	if _, err := runner(); !errors.Is(err, audit.ErrHistoryMissing) {
		t.Errorf("opening over a dropped history: %v, want ErrHistoryMissing", err)
	}
	if got := effects(); !reflect.DeepEqual(got, map[string]int{"one": 1, "two": 3}) {
		t.Errorf("effects after the refusal %v", got)
	}
}

package sqltarget_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// env is one pipeline wired to SQLite files: the audit store, and a target
// database that is either the same file (shared transactions) or another.
type env struct {
	auditPath, targetPath string
	store                 *sqlite.Store
	targetDB              *sql.DB
	target                *sqltarget.Target
}

func paths(t *testing.T, shared bool) (auditPath, targetPath string) {
	dir := t.TempDir()
	auditPath = filepath.Join(dir, "audit.db")
	targetPath = filepath.Join(dir, "target.db")
	if shared {
		targetPath = auditPath
	}
	return auditPath, targetPath
}

func openEnv(ctx context.Context, auditPath, targetPath string) (*env, error) {
	e := &env{auditPath: auditPath, targetPath: targetPath}
	db, err := sqlite.OpenDB(targetPath)
	if err != nil {
		return nil, err
	}
	e.targetDB = db
	if auditPath == targetPath {
		e.store, err = sqlite.New(ctx, db)
	} else {
		e.store, err = sqlite.Open(ctx, auditPath)
	}
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS effects (change_id TEXT NOT NULL)`); err != nil {
		return nil, err
	}
	e.target, err = sqltarget.New("db", db)
	return e, err
}

func (e *env) close() {
	e.store.Close()
	e.targetDB.Close()
}

func newEnv(t *testing.T, shared bool) *env {
	t.Helper()
	a, tp := paths(t, shared)
	e, err := openEnv(context.Background(), a, tp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

// hooks let a test interrupt a change at a named step.
type hooks struct{ at func(step string) }

func (h hooks) hit(step string) {
	if h.at != nil {
		h.at(step)
	}
}

// txChange and dbChange build changes the way generated code does: an
// adapter resolves the typed parameter and calls the function directly.
func txChange(id, order string, h hooks, fail error) flamingock.Change {
	fn := func(ctx context.Context, tx *sql.Tx) error {
		h.hit("apply-begin")
		if _, err := tx.ExecContext(ctx, `INSERT INTO effects (change_id) VALUES (?)`, id); err != nil {
			return err
		}
		h.hit("apply-end")
		return fail
	}
	return flamingock.Change{
		ID: id, Order: order, Target: "db", Transactional: true, Recovery: flamingock.RecoveryManual,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflectType{flamingock.TypeOf[*sql.Tx]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			tx, err := targets.Resolve[*sql.Tx](d)
			if err != nil {
				return err
			}
			return fn(ctx, tx)
		}),
	}
}

func dbChange(id, order string, recovery flamingock.Recovery, h hooks, fail error) flamingock.Change {
	fn := func(ctx context.Context, db *sql.DB) error {
		h.hit("apply-begin")
		if _, err := db.ExecContext(ctx, `INSERT INTO effects (change_id) VALUES (?)`, id); err != nil {
			return err
		}
		h.hit("apply-end")
		return fail
	}
	return flamingock.Change{
		ID: id, Order: order, Target: "db", Transactional: false, Recovery: recovery,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflectType{flamingock.TypeOf[*sql.DB]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			db, err := targets.Resolve[*sql.DB](d)
			if err != nil {
				return err
			}
			return fn(ctx, db)
		}),
	}
}

func (e *env) runner(t testing.TB, store audit.Store, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	opts = append([]flamingock.Option{flamingock.WithAuditStore(store), flamingock.WithTargets(e.target), flamingock.WithLockWait(20 * time.Second)}, opts...)
	r, err := flamingock.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) effects(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := e.targetDB.QueryRow(`SELECT count(*) FROM effects WHERE change_id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) history(t *testing.T, id string) string {
	t.Helper()
	return audittest.States(t, e.store, id)
}

func (e *env) latest(t *testing.T, id string) audit.Entry {
	t.Helper()
	return audittest.Latest(t, e.store, id)
}

func stage(changes ...flamingock.Change) flamingock.Pipeline {
	return flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes})
}

var errBoom = fmt.Errorf("boom")

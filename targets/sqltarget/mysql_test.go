package sqltarget_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// myEnv is one pipeline on MariaDB/MySQL: a target database with an
// effects table, and an audit store in the same *sql.DB (shared
// transactions) or in another database (commit markers).
type myEnv struct {
	targetDSN, auditDSN string
	targetDB            *sql.DB
	store               *mysql.Store
	target              *sqltarget.Target
	closers             []func() error
}

// newMyEnv creates the databases for t (one when shared) and the effects
// table, and opens the env on them.
func newMyEnv(t *testing.T, shared bool) *myEnv {
	t.Helper()
	target := mytest.New(t)
	auditDSN := target.DSN
	if !shared {
		auditDSN = mytest.New(t).DSN
	}
	e, err := openMyEnv(context.Background(), target.DSN, auditDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

// openMyEnv opens the env on existing databases (a crash test's child
// reopens its parent's), creating the effects table if missing. The store
// shares the target's *sql.DB when both DSNs are the same.
func openMyEnv(ctx context.Context, targetDSN, auditDSN string) (*myEnv, error) {
	e := &myEnv{targetDSN: targetDSN, auditDSN: auditDSN}
	var err error
	if e.targetDB, err = sql.Open("mysql", targetDSN); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.targetDB.Close)
	if _, err := e.targetDB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS effects (change_id VARCHAR(255) NOT NULL) ENGINE=InnoDB`); err != nil {
		e.close()
		return nil, err
	}
	if e.store, err = e.openStore(ctx); err != nil {
		e.close()
		return nil, err
	}
	if e.target, err = sqltarget.New("db", e.targetDB); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// openStore opens a store instance on the env's audit tables: on the
// target's *sql.DB when they share a database, otherwise on a pool of its
// own, as another process would.
func (e *myEnv) openStore(ctx context.Context) (*mysql.Store, error) {
	db := e.targetDB
	if e.auditDSN != e.targetDSN {
		var err error
		if db, err = sql.Open("mysql", e.auditDSN); err != nil {
			return nil, err
		}
		e.closers = append(e.closers, db.Close)
	}
	return mysql.New(ctx, db)
}

func (e *myEnv) close() {
	for _, c := range e.closers {
		c()
	}
	e.closers = nil
}

func (e *myEnv) runner(t testing.TB, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	opts = append([]flamingock.Option{flamingock.WithAuditStore(e.store), flamingock.WithTargets(e.target), flamingock.WithLockWait(20 * time.Second)}, opts...)
	r, err := flamingock.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *myEnv) effects(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := e.targetDB.QueryRow(`SELECT count(*) FROM effects WHERE change_id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *myEnv) history(t *testing.T, id string) string {
	t.Helper()
	return audittest.States(t, e.store, id)
}

// ddlChange is a change declared transactional that runs DDL, which MySQL
// commits implicitly, between two writes to the effects table.
func ddlChange(id string) flamingock.Change {
	c := txChange(id, "1", hooks{}, nil)
	c.Apply = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
		tx, err := targets.Resolve[*sql.Tx](d)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO effects (change_id) VALUES (?)`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "CREATE TABLE widgets_"+id+" (id INT PRIMARY KEY)"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO effects (change_id) VALUES (?)`, id)
		return err
	})
	return c
}

func TestMySQLSharedTransactionCommitsChangeWithItsEntry(t *testing.T) {
	e := newMyEnv(t, true)
	rep, err := e.runner(t, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxShared || e.history(t, "a") != "APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
	if _, found, err := e.target.ReadMarker(context.Background(), "a"); err != nil || found {
		t.Fatalf("a shared-transaction change left a marker (found=%v, %v)", found, err)
	}
}

func TestMySQLSharedTransactionFailureRollsBackThenReapplies(t *testing.T) {
	e := newMyEnv(t, true)
	_, err := e.runner(t, stage(txChange("a", "1", hooks{}, errBoom))).Run(context.Background())
	if re, ok := errors.AsType[*flamingock.RunError](err); !ok || !errors.Is(re.Apply, errBoom) || re.State != audit.Failed {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "a") != "FAILED" || e.effects(t, "a") != 0 {
		t.Fatalf("history %s effects %d: the failed change must be rolled back", e.history(t, "a"), e.effects(t, "a"))
	}
	if _, err := e.runner(t, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "FAILED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
}

func TestMySQLSeparateTransactionWritesMarker(t *testing.T) {
	e := newMyEnv(t, false)
	rep, err := e.runner(t, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxSeparateWithMarker || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
	m, found, err := e.target.ReadMarker(context.Background(), "a")
	if err != nil || !found || m.RunID != rep.RunID || m.Token != audittest.Latest(t, e.store, "a").Token {
		t.Fatalf("marker %+v found=%v err=%v", m, found, err)
	}
	// A failed change leaves no marker and nothing in the target.
	if _, err := e.runner(t, stage(txChange("b", "2", hooks{}, errBoom))).Run(context.Background()); err == nil {
		t.Fatal("want failure")
	}
	if _, found, _ := e.target.ReadMarker(context.Background(), "b"); found || e.effects(t, "b") != 0 {
		t.Fatalf("a rolled-back change left a marker (%v) or effects (%d)", found, e.effects(t, "b"))
	}
}

func TestMySQLNonTransactionalChangeRollsBack(t *testing.T) {
	e := newMyEnv(t, true)
	c := dbChange("a", "1", flamingock.RecoveryManual, hooks{}, errBoom)
	c.Rollback = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
		db, err := targets.Resolve[*sql.DB](d)
		if err != nil {
			return err
		}
		_, err = db.ExecContext(ctx, `DELETE FROM effects WHERE change_id = 'a'`)
		return err
	})
	_, err := e.runner(t, stage(c)).Run(context.Background())
	if re, ok := errors.AsType[*flamingock.RunError](err); !ok || re.State != audit.RolledBack {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "a") != "STARTED,ROLLED_BACK" || e.effects(t, "a") != 0 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
}

// TestMySQLImplicitCommitIsRefused: DDL in a change declared transactional
// commits the transaction implicitly. The target notices before the audit
// entry (shared) or the commit marker (separate) is written in it, and the
// run fails naming the change and the fix, instead of recording the change
// as applied atomically: without the check both protocols record APPLIED
// for a change whose writes were not atomic with the entry, which a crash
// between the DDL and the entry turns into a change applied twice.
func TestMySQLImplicitCommitIsRefused(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			e := newMyEnv(t, shared)
			_, err := e.runner(t, stage(ddlChange("ddl"))).Run(context.Background())
			ice, ok := errors.AsType[*sqltarget.ImplicitCommitError](err)
			if !ok || ice.ChangeID != "ddl" {
				t.Fatalf("run error %v, want an ImplicitCommitError for change ddl", err)
			}
			for _, want := range []string{`"ddl"`, "transactional=false", "rollback", "non-transactional change of its own"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if latest := audittest.Latest(t, e.store, "ddl"); latest.State != audit.Failed || !strings.Contains(latest.Error, "transactional=false") {
				t.Errorf("latest entry %s %q, want FAILED with the message", latest.State, latest.Error)
			}
			// The DDL committed the first insert and the second ran outside
			// any transaction: both stay, which is why the change may not
			// claim atomicity.
			if n := e.effects(t, "ddl"); n != 2 {
				t.Errorf("effects %d, want 2 (committed implicitly)", n)
			}
			// No marker either: the target cannot tell a commit by DDL
			// from a rollback, and will not claim a commit.
			if _, found, err := e.target.ReadMarker(context.Background(), "ddl"); err != nil || found {
				t.Errorf("marker after the refusal: found=%v, %v", found, err)
			}
			// The failure is recorded as non-transactional: an issue for an
			// operator, so the next run neither applies the change again
			// nor skips it silently.
			if latest := audittest.Latest(t, e.store, "ddl"); latest.TxStrategy != audit.NonTx || !audit.IsIssue(latest) {
				t.Errorf("latest entry strategy %s (issue %v), want NON_TX and an issue", latest.TxStrategy, audit.IsIssue(latest))
			}
			if _, err := e.runner(t, stage(ddlChange("ddl"))).Run(context.Background()); !errors.As(err, new(*flamingock.IssuesError)) {
				t.Errorf("second run: %v, want an *IssuesError", err)
			}
			if n := e.effects(t, "ddl"); n != 2 {
				t.Errorf("effects after the second run %d, want still 2 (not applied again)", n)
			}
		})
	}
}

// TestMySQLTransactionalChangeWithoutDDLPassesTheCheck: the check reads
// the session state and lets a plain transactional change through, also
// one that runs no statement at all.
func TestMySQLTransactionalChangeWithoutDDLPassesTheCheck(t *testing.T) {
	for _, shared := range []bool{true, false} {
		e := newMyEnv(t, shared)
		empty := txChange("empty", "2", hooks{}, nil)
		empty.Apply = flamingock.ChangeFunc(func(context.Context, *targets.Deps) error { return nil })
		if _, err := e.runner(t, stage(txChange("a", "1", hooks{}, nil), empty)).Run(context.Background()); err != nil {
			t.Fatalf("shared=%v: %v", shared, err)
		}
	}
}

// TestMySQLConcurrentRunnersApplyEachChangeOnce: runners started together,
// each with its own pool and store instance as separate processes would
// have, apply every change exactly once.
func TestMySQLConcurrentRunnersApplyEachChangeOnce(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			e := newMyEnv(t, shared)
			var changes []flamingock.Change
			for i := range 6 {
				if i%3 == 2 {
					changes = append(changes, dbChange(fmt.Sprintf("c%d", i), fmt.Sprintf("%02d", i), flamingock.RecoveryManual, hooks{}, nil))
				} else {
					changes = append(changes, txChange(fmt.Sprintf("c%d", i), fmt.Sprintf("%02d", i), hooks{}, nil))
				}
			}
			const runners = 4
			stores := make([]*mysql.Store, runners)
			for i := range stores {
				var err error
				if stores[i], err = e.openStore(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, runners)
			for i := range runners {
				r, err := flamingock.New(stage(changes...), flamingock.WithAuditStore(stores[i]), flamingock.WithTargets(e.target), flamingock.WithLockWait(60*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					_, err := r.Run(context.Background())
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("runner: %v", err)
				}
			}
			for _, c := range changes {
				if n := e.effects(t, c.ID); n != 1 {
					t.Errorf("%s applied %d times", c.ID, n)
				}
				if h := e.history(t, c.ID); !strings.HasSuffix(h, "APPLIED") || strings.Count(h, "APPLIED") != 1 {
					t.Errorf("%s history %s", c.ID, h)
				}
			}
		})
	}
}

// TestMySQLKilledConnectionRollsBack: the server kills the connection of a
// change's transaction (KILL CONNECTION, as an operator or a failover
// would) after the change's write. The run fails, the write is gone with
// the transaction, and the next run applies the change once.
func TestMySQLKilledConnectionRollsBack(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			e := newMyEnv(t, shared)
			killer := e.targetDB
			c := txChange("a", "1", hooks{}, nil)
			apply := c.Apply
			c.Apply = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
				if err := apply.Call(ctx, d); err != nil {
					return err
				}
				tx, err := targets.Resolve[*sql.Tx](d)
				if err != nil {
					return err
				}
				var id int64
				if err := tx.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
					return err
				}
				_, err = killer.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id))
				return err
			})
			if _, err := e.runner(t, stage(c)).Run(context.Background()); err == nil {
				t.Fatal("the run succeeded although its transaction's connection was killed")
			}
			if n := e.effects(t, "a"); n != 0 {
				t.Fatalf("effects %d after the connection was killed, want 0 (rolled back)", n)
			}
			if latest := audittest.Latest(t, e.store, "a"); latest.State == audit.Applied {
				t.Fatalf("latest entry APPLIED for a transaction that was killed")
			}
			if _, err := e.runner(t, stage(txChange("a", "1", hooks{}, nil))).Run(context.Background()); err != nil {
				t.Fatalf("run after the kill: %v", err)
			}
			if n := e.effects(t, "a"); n != 1 {
				t.Fatalf("effects %d after the second run, want 1", n)
			}
		})
	}
}

// TestDialectFromTheDriverOrTheOption: the dialect comes from the driver's
// package; a driver that does not say is refused with a message naming
// WithDialect, which sets it.
func TestDialectFromTheDriverOrTheOption(t *testing.T) {
	db := sql.OpenDB(opaqueConnector{})
	defer db.Close()
	if _, err := sqltarget.New("db", db); err == nil || !strings.Contains(err.Error(), "WithDialect") {
		t.Fatalf("New on an unknown driver: %v, want an error naming WithDialect", err)
	}
	if _, err := sqltarget.New("db", db, sqltarget.WithDialect(sqltarget.MySQL)); err != nil {
		t.Fatalf("New WithDialect(MySQL): %v", err)
	}
	if _, err := sqltarget.New("db", db, sqltarget.WithDialect("oracle")); err == nil || !strings.Contains(err.Error(), `"oracle"`) {
		t.Fatalf("WithDialect(oracle): %v", err)
	}
}

// opaqueConnector stands for a driver whose package names no database. It
// is never connected.
type opaqueConnector struct{}

func (opaqueConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("not connected")
}
func (opaqueConnector) Driver() driver.Driver { return opaqueDriver{} }

type opaqueDriver struct{}

func (opaqueDriver) Open(string) (driver.Conn, error) { return nil, errors.New("not connected") }

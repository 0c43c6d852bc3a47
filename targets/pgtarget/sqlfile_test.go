package pgtarget_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// pgFiles are SQL-file changes in PostgreSQL's dialect, with the corners
// the splitter must get right: a dollar-quoted body with semicolons, an
// E-string (E'...') with an escaped quote and semicolon, a nested comment.
var pgFiles = fstest.MapFS{
	"0001_schema.sql": {Data: []byte(`-- flamingock:change id=schema
CREATE TABLE notes (id int PRIMARY KEY, body text);
/* a /* nested */ comment; */
CREATE FUNCTION add_note(n int) RETURNS void AS $fn$
BEGIN
  INSERT INTO notes VALUES (n, 'from ; function');
END;
$fn$ LANGUAGE plpgsql;
SELECT add_note(1);
INSERT INTO notes VALUES (2, E'it\'s; escaped');
`)},
	"0002_broken.sql": {Data: []byte(`-- flamingock:change id=broken transactional=false
CREATE TABLE half (id int);
CREATE INDEX CONCURRENTLY half_id ON half (id);
SELECT * FROM missing_table;
-- flamingock:rollback
DROP TABLE half;
`)},
}

func pgSQLChange(name, id, order string, transactional, rollback bool) flamingock.Change {
	path := "changes/" + name
	c := flamingock.Change{
		ID: id, Order: order, Target: "db", Transactional: transactional, Recovery: flamingock.RecoveryManual,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: path, Line: 1},
		Apply: flamingock.SQLFile{FS: pgFiles, Name: name, Path: path},
	}
	if rollback {
		c.Rollback = flamingock.SQLFile{FS: pgFiles, Name: name, Path: path, Rollback: true}
	}
	return c
}

// pgSQLEnv returns a run function over a fresh schema, with the audit
// store on the target's pool (shared transactions) or on another.
func pgSQLEnv(t *testing.T, shared bool) (*pgxpool.Pool, func(...flamingock.Change) error, *postgres.Store) {
	schema := pgtest.New(t)
	pool := schema.Pool(t)
	ctx := context.Background()
	storePool := pool
	if !shared {
		storePool = schema.Pool(t)
	}
	store, err := postgres.New(ctx, storePool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	return pool, func(changes ...flamingock.Change) error {
		r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes}),
			flamingock.WithAuditStore(store), flamingock.WithTargets(tg))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Run(ctx)
		return err
	}, store
}

func TestSQLFileProtocols(t *testing.T) {
	for _, c := range []struct {
		name   string
		shared bool
		want   audit.TxStrategy
	}{{"shared", true, audit.TxShared}, {"marker", false, audit.TxSeparateWithMarker}} {
		t.Run(c.name, func(t *testing.T) {
			pool, run, store := pgSQLEnv(t, c.shared)
			ctx := context.Background()
			if err := run(pgSQLChange("0001_schema.sql", "schema", "1", true, false)); err != nil {
				t.Fatal(err)
			}
			var bodies []string
			rows, err := pool.Query(ctx, "SELECT body FROM notes ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b string
				if err := rows.Scan(&b); err != nil {
					t.Fatal(err)
				}
				bodies = append(bodies, b)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(bodies) != 2 || bodies[0] != "from ; function" || bodies[1] != "it's; escaped" {
				t.Fatalf("notes hold %q", bodies)
			}
			snap, err := store.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if e := snap["schema"]; e.State != audit.Applied || e.TxStrategy != c.want {
				t.Fatalf("latest %s under %s, want APPLIED under %s", e.State, e.TxStrategy, c.want)
			}
		})
	}
}

// TestSQLFileNonTransactionalFailure runs a file that must run outside a
// transaction (CREATE INDEX CONCURRENTLY), fails on its third statement,
// and has its rollback section undo the first.
func TestSQLFileNonTransactionalFailure(t *testing.T) {
	pool, run, _ := pgSQLEnv(t, true)
	err := run(pgSQLChange("0002_broken.sql", "broken", "2", false, true))
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || re.State != audit.RolledBack {
		t.Fatalf("got %v, want a run error with state ROLLED_BACK", err)
	}
	se, ok := errors.AsType[*sqlscript.StatementError](re.Apply)
	if !ok || se.File != "changes/0002_broken.sql" || se.Line != 4 || se.Index != 3 || se.SQL != "SELECT * FROM missing_table" {
		t.Fatalf("apply error %#v, want statement 3 at changes/0002_broken.sql:4", re.Apply)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'half'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the rollback section did not drop the table")
	}
}

package sqltarget_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
)

// sqlChange builds an SQL-file change the way the generated registry does.
func sqlChange(fsys fs.FS, name, id, order string, transactional, rollback bool) flamingock.Change {
	path := "changes/" + name
	c := flamingock.Change{
		ID: id, Order: order, Target: "db", Transactional: transactional, Recovery: flamingock.RecoveryManual,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: path, Line: 1},
		Apply: flamingock.SQLFile{FS: fsys, Name: name, Path: path},
	}
	if rollback {
		c.Rollback = flamingock.SQLFile{FS: fsys, Name: name, Path: path, Rollback: true}
	}
	return c
}

// sqliteFiles are SQL-file changes in SQLite's dialect. The trigger's body
// holds semicolons and a CASE ... END, which must not end the statement.
var sqliteFiles = fstest.MapFS{
	"0001_accounts.sql": {Data: []byte(`-- flamingock:change id=accounts
CREATE TABLE accounts (id INTEGER PRIMARY KEY, kind TEXT);
CREATE TABLE account_log (id INTEGER, note TEXT);
CREATE TRIGGER accounts_log AFTER INSERT ON accounts BEGIN
  INSERT INTO account_log VALUES (NEW.id, CASE WHEN NEW.kind = 'a;b' THEN 'semi' ELSE 'plain' END);
  INSERT INTO account_log VALUES (NEW.id, 'second');
END;
INSERT INTO accounts VALUES (1, 'a;b');
`)},
	"0002_broken.sql": {Data: []byte(`-- flamingock:change id=broken
CREATE TABLE half (id INTEGER);

INSERT INTO missing_table VALUES (1);
-- flamingock:rollback
DROP TABLE half;
`)},
}

func TestSQLFileRunsInSharedTransaction(t *testing.T) {
	e := newEnv(t, true)
	rep, err := e.runner(t, e.store, stage(sqlChange(sqliteFiles, "0001_accounts.sql", "accounts", "1", true, false))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxShared || e.history(t, "accounts") != "APPLIED" {
		t.Fatalf("protocol %s history %s", rep.Changes[0].Protocol, e.history(t, "accounts"))
	}
	var semi, second int
	if err := e.targetDB.QueryRow(`SELECT count(*) FILTER (WHERE note = 'semi'), count(*) FILTER (WHERE note = 'second') FROM account_log`).Scan(&semi, &second); err != nil {
		t.Fatal(err)
	}
	if semi != 1 || second != 1 {
		t.Fatalf("the trigger ran as %d semi and %d second rows, want its whole body once", semi, second)
	}
}

func TestSQLFileFailingStatementRollsBackAndNamesItsLine(t *testing.T) {
	e := newEnv(t, false)
	_, err := e.runner(t, e.store, stage(sqlChange(sqliteFiles, "0002_broken.sql", "broken", "2", true, false))).Run(context.Background())
	se, ok := errors.AsType[*sqlscript.StatementError](err)
	if !ok {
		t.Fatalf("got %v, want a statement error", err)
	}
	if se.File != "changes/0002_broken.sql" || se.Line != 4 || se.Index != 2 || se.SQL != "INSERT INTO missing_table VALUES (1)" {
		t.Fatalf("statement error %+v", se)
	}
	if e.history(t, "broken") != "STARTED,FAILED" || tableExists(t, e, "half") {
		t.Fatalf("history %s, table half exists %v: the transaction must be rolled back", e.history(t, "broken"), tableExists(t, e, "half"))
	}
}

func TestSQLFileNonTransactionalRunsItsRollbackSection(t *testing.T) {
	e := newEnv(t, false)
	_, err := e.runner(t, e.store, stage(sqlChange(sqliteFiles, "0002_broken.sql", "broken", "2", false, true))).Run(context.Background())
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || re.State != audit.RolledBack {
		t.Fatalf("got %v, want a run error with state ROLLED_BACK", err)
	}
	if _, ok := errors.AsType[*sqlscript.StatementError](re.Apply); !ok {
		t.Fatalf("apply error %v is not a statement error", re.Apply)
	}
	if tableExists(t, e, "half") {
		t.Fatal("the rollback section did not drop the table the first statement created")
	}
}

func tableExists(t *testing.T, e *env, name string) bool {
	t.Helper()
	var n int
	if err := e.targetDB.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

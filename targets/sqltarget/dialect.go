package sqltarget

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"strings"

	"github.com/flamingock/flamingock-go/sqlscript"
	"github.com/flamingock/flamingock-go/targets"
)

// dialect is what differs between the databases the target serves: how the
// marker table is created, found and upserted, whether a transaction holds
// the whole database, and whether a transaction can end behind the
// target's back.
type dialect struct {
	name string
	// script is how SQL-file changes on this database are split into
	// statements.
	script sqlscript.Dialect
	// createMarker creates the marker table if it does not exist.
	createMarker func(table string) string
	// markerExists counts the tables named ? in the connection's database.
	markerExists string
	// upsertMarker inserts the marker or replaces one whose token is below
	// since, binding the change id, run id and token, then since
	// sinceParams times.
	upsertMarker func(table string) string
	sinceParams  int
	// markerWritten reports from RowsAffected whether the upsert wrote.
	markerWritten func(n int64) bool
	// blocksDatabase: a write transaction holds the database's only write
	// lock (SQLite). See [Tx.BlocksLockTakeover].
	blocksDatabase bool
	// implicitCommit: DDL commits the open transaction (MySQL, MariaDB),
	// so the target checks that a change's transaction is still open
	// before its audit entry or commit marker is written in it.
	implicitCommit bool
}

var sqliteDialect = dialect{
	script: sqlscript.SQLite,
	name:   "SQLite",
	createMarker: func(table string) string {
		return `CREATE TABLE IF NOT EXISTS ` + table + ` (
	change_id TEXT PRIMARY KEY,
	run_id    TEXT NOT NULL,
	token     INTEGER NOT NULL
)`
	},
	markerExists: `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`,
	upsertMarker: func(table string) string {
		return `INSERT INTO ` + table + ` (change_id, run_id, token) VALUES (?, ?, ?)
ON CONFLICT (change_id) DO UPDATE SET run_id = excluded.run_id, token = excluded.token
WHERE ` + table + `.token < ?`
	},
	sinceParams:    1,
	markerWritten:  func(n int64) bool { return n == 1 },
	blocksDatabase: true,
}

var mysqlDialect = dialect{
	script: sqlscript.MySQL,
	name:   "MySQL",
	createMarker: func(table string) string {
		return "CREATE TABLE IF NOT EXISTS `" + table + "` (\n" +
			"	change_id VARCHAR(255) NOT NULL PRIMARY KEY,\n" +
			"	run_id    VARCHAR(255) NOT NULL,\n" +
			"	token     BIGINT       NOT NULL\n" +
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	},
	markerExists: `SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?`,
	// MySQL evaluates the assignments in order, so run_id is decided
	// before token changes; each compares with since.
	upsertMarker: func(table string) string {
		return "INSERT INTO `" + table + "` (change_id, run_id, token) VALUES (?, ?, ?)\n" +
			"ON DUPLICATE KEY UPDATE run_id = IF(token < ?, VALUES(run_id), run_id), token = IF(token < ?, VALUES(token), token)"
	},
	sinceParams: 2,
	// 1 for an insert, 2 for an update that changed the row; 0 when the
	// condition kept the existing marker (or the values were the same,
	// which WriteMarker tells apart by reading the marker).
	markerWritten:  func(n int64) bool { return n == 1 || n == 2 },
	implicitCommit: true,
}

// dialectOf picks the dialect from the driver's package path.
func dialectOf(d driver.Driver) (dialect, error) {
	t := reflect.TypeOf(d)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	path := ""
	if t != nil {
		path = strings.ToLower(t.PkgPath())
	}
	switch {
	case strings.Contains(path, "sqlite"):
		return sqliteDialect, nil
	case strings.Contains(path, "mysql"):
		return mysqlDialect, nil
	}
	return dialect{}, fmt.Errorf("driver %T (package %q) is neither a SQLite nor a MySQL driver; the target serves modernc.org/sqlite (or another SQLite driver) and github.com/go-sql-driver/mysql", d, path)
}

// ImplicitCommitError is returned when a transactional change on MySQL or
// MariaDB ended its own transaction, normally by running DDL (CREATE,
// ALTER, DROP, RENAME, TRUNCATE and more commit implicitly; a deadlock the
// change ignored would have rolled it back). Its effects are then not
// atomic with the audit entry, so the target refuses to record the change
// as applied in its transaction.
type ImplicitCommitError struct {
	ChangeID string
}

func (e *ImplicitCommitError) Error() string {
	return fmt.Sprintf("change %q ended its transaction before it returned: MySQL and MariaDB commit the open transaction implicitly "+
		"on DDL (CREATE, ALTER, DROP, RENAME, TRUNCATE, ...), so what the change did up to there is committed and the rest ran outside any transaction, "+
		"not atomically with its audit entry (if the change runs no DDL, it ignored an error that rolled its transaction back, such as a deadlock). "+
		"Declare the change transactional=false and give it a rollback, "+
		"or move the DDL into a non-transactional change of its own", e.ChangeID)
}

// Unwrap makes the error match [targets.ErrNotAtomic], so the runner
// records the failure as non-transactional (an issue, not a retry).
func (e *ImplicitCommitError) Unwrap() error { return targets.ErrNotAtomic }

// checkOpen fails with an [ImplicitCommitError] when tx's session is no
// longer in a transaction. @@in_transaction is 1 from START TRANSACTION
// until the transaction ends, explicitly or implicitly; it exists in
// MySQL 5.7+ and MariaDB 10.0+.
func (d dialect) checkOpen(ctx context.Context, tx *sql.Tx, changeID string) error {
	if !d.implicitCommit {
		return nil
	}
	var open int
	if err := tx.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&open); err != nil {
		return fmt.Errorf("sqltarget: checking that the transaction of change %q is still open: %w", changeID, err)
	}
	if open != 1 {
		return &ImplicitCommitError{ChangeID: changeID}
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// nowMillis is SQLite's clock in Unix milliseconds. SQLite evaluates 'now'
// once per statement step, so every use within one statement agrees.
// julianday is used rather than unixepoch('subsec') because it exists in
// every SQLite version a caller's driver may bundle.
const nowMillis = `CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)`

// column is one column of the history and latest tables.
type column struct{ name, typ string }

// entryColumns lists the columns that hold an entry, in the order scanEntry
// reads them. seq and created_at are assigned by the store.
var entryColumns = []column{
	{"seq", "INTEGER"},
	{"run_id", "TEXT"},
	{"stage", "TEXT"},
	{"change_id", "TEXT"},
	{"author", "TEXT"},
	{"change_order", "TEXT"},
	{"state", "TEXT"},
	{"target_id", "TEXT"},
	{"tx_strategy", "TEXT"},
	{"recovery", "TEXT"},
	{"checksum", "TEXT"},
	{"created_at", "INTEGER"}, // Unix milliseconds, SQLite's clock
	{"duration_ns", "INTEGER"},
	{"host", "TEXT"},
	{"pid", "INTEGER"},
	{"tool_version", "TEXT"},
	{"actor", "TEXT"},
	{"reason", "TEXT"},
	{"error", "TEXT"},
	{"metadata", "TEXT"}, // JSON object, or '' when there is none
	{"token", "INTEGER"},
}

func columnNames(skip ...string) []string {
	var out []string
next:
	for _, c := range entryColumns {
		for _, s := range skip {
			if c.name == s {
				continue next
			}
		}
		out = append(out, c.name)
	}
	return out
}

// quote quotes a name that has already passed the identifier check.
func quote(name string) string { return `"` + name + `"` }

// schemaStatements returns the DDL for the store's tables, each statement
// idempotent.
func (c config) schemaStatements() []string {
	var hist, latest []string
	for _, col := range entryColumns {
		switch col.name {
		case "seq":
			hist = append(hist, "seq INTEGER PRIMARY KEY AUTOINCREMENT")
			latest = append(latest, "seq INTEGER NOT NULL")
		case "change_id":
			hist = append(hist, "change_id TEXT NOT NULL")
			latest = append(latest, "change_id TEXT PRIMARY KEY")
		default:
			def := col.name + " " + col.typ + " NOT NULL"
			hist = append(hist, def)
			latest = append(latest, def)
		}
	}
	return []string{
		"CREATE TABLE IF NOT EXISTS " + quote(c.historyTable) + " (\n\t" + strings.Join(hist, ",\n\t") + "\n) STRICT",
		"CREATE INDEX IF NOT EXISTS " + quote(c.changeIndex()) + " ON " + quote(c.historyTable) + " (change_id, seq)",
		"CREATE TABLE IF NOT EXISTS " + quote(c.latestTable) + " (\n\t" + strings.Join(latest, ",\n\t") + "\n) STRICT",
		"CREATE TABLE IF NOT EXISTS " + quote(c.lockTable) + ` (
	lock_key TEXT PRIMARY KEY,
	token INTEGER NOT NULL,
	owner_host TEXT NOT NULL,
	owner_pid INTEGER NOT NULL,
	owner_run_id TEXT NOT NULL,
	acquired_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT`,
	}
}

// Schema returns the SQL that creates the tables a store with opts uses, for
// databases where the store runs [WithoutAutoCreate]. The statements are
// idempotent and separated by ";\n".
func Schema(opts ...Option) (string, error) {
	c, err := newConfig(opts)
	if err != nil {
		return "", err
	}
	return strings.Join(c.schemaStatements(), ";\n") + ";\n", nil
}

// createSchema creates the tables in one transaction. With _txlock=immediate
// the transaction takes the write lock up front, so stores opening at once
// run it one after the other; IF NOT EXISTS makes the later runs no-ops.
func createSchema(ctx context.Context, db *sql.DB, c config) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite audit store: create tables: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range c.schemaStatements() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlite audit store: create tables: %w\n%s", err, stmt)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite audit store: create tables: commit: %w", err)
	}
	return nil
}

// checkSchema reports the first table the store needs that does not exist.
func checkSchema(ctx context.Context, db *sql.DB, c config) error {
	for _, t := range []struct{ option, name string }{
		{"WithHistoryTable", c.historyTable},
		{"WithLatestTable", c.latestTable},
		{"WithLockTable", c.lockTable},
	} {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE`, t.name).Scan(&n)
		if err != nil {
			return fmt.Errorf("sqlite audit store: check table %q: %w", t.name, err)
		}
		if n == 0 {
			return fmt.Errorf("sqlite audit store: table %q (%s) does not exist and auto-create is off (WithoutAutoCreate); create it with the statements from sqlite.Schema or drop the option", t.name, t.option)
		}
	}
	return nil
}

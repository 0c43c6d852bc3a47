package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/flamingock/flamingock-go/audit"
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
	expires_at INTEGER NOT NULL,
	` + lockTTLColumn + `
) STRICT`,
		// One row (id 1): the applied digest of the latest-state table,
		// its 16-byte XOR sum kept as two signed 64-bit halves so that
		// SQL can update it in place. The store writes the row itself,
		// computed from the latest-state table, when it is missing.
		"CREATE TABLE IF NOT EXISTS " + quote(c.digestTable()) + ` (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	applied_count INTEGER NOT NULL,
	sum_hi INTEGER NOT NULL,
	sum_lo INTEGER NOT NULL
) STRICT`,
	}
}

// lockTTLColumn records the lease length of the current holder, so that an
// append inside a shared transaction can renew the lease by the length the
// holder asked for. Stores from before the column existed get it added
// (with the default) when they are opened with auto-create on.
const lockTTLColumn = "ttl_ms INTEGER NOT NULL DEFAULT 0"

// Schema returns the SQL that creates the tables a store with opts uses, for
// databases where the store runs [WithoutAutoCreate]. The statements are
// idempotent and separated by ";\n". The digest table's row is not part of
// it: the store computes it from the latest-state table when it opens.
func Schema(opts ...Option) (string, error) {
	c, err := newConfig(opts)
	if err != nil {
		return "", err
	}
	return strings.Join(c.schemaStatements(), ";\n") + ";\n", nil
}

// queryer is what both *sql.DB and *sql.Tx offer for reads.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaState is what of the store's schema a database lacks.
type schemaState struct {
	// missing lists the tables (and the index) that do not exist, each
	// with the option that names it.
	missing []schemaObject
	// lockLacksTTL is set when the lock table exists without ttl_ms.
	lockLacksTTL bool
	// digestRowMissing is set when the digest table exists but its row
	// does not.
	digestRowMissing bool
}

type schemaObject struct{ kind, option, name string }

func (st schemaState) complete() bool {
	return len(st.missing) == 0 && !st.lockLacksTTL && !st.digestRowMissing
}

// inspectSchema reads, without writing, what of the schema exists. It only
// needs a read transaction, which SQLite's WAL mode grants while another
// connection holds the write lock: a store can open next to a long write
// transaction.
func inspectSchema(ctx context.Context, q queryer, c config) (schemaState, error) {
	var st schemaState
	for _, o := range []schemaObject{
		{"table", "WithHistoryTable", c.historyTable},
		{"index", "WithHistoryTable", c.changeIndex()},
		{"table", "WithLatestTable", c.latestTable},
		{"table", "WithLockTable", c.lockTable},
		{"table", "WithLatestTable", c.digestTable()},
	} {
		var n int
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = ? AND name = ? COLLATE NOCASE`, o.kind, o.name).Scan(&n)
		if err != nil {
			return schemaState{}, fmt.Errorf("sqlite audit store: check %s %q: %w", o.kind, o.name, err)
		}
		if n == 0 {
			st.missing = append(st.missing, o)
			continue
		}
		switch o.name {
		case c.lockTable:
			err = q.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = 'ttl_ms'`, o.name).Scan(&n)
			st.lockLacksTTL = n == 0
		case c.digestTable():
			err = q.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(o.name)+` WHERE id = 1`).Scan(&n)
			st.digestRowMissing = n == 0
		}
		if err != nil {
			return schemaState{}, fmt.Errorf("sqlite audit store: check %s %q: %w", o.kind, o.name, err)
		}
	}
	return st, nil
}

// prepareSchema makes the database ready for the store. When everything
// exists, which is every open but the first, it only reads. Otherwise it
// creates what is missing (or, with auto-create off, reports the first
// missing table) in one write transaction. With _txlock=immediate that
// transaction takes the write lock up front, so stores opening at once run
// it one after the other, and the later ones, re-checking inside it, change
// nothing.
func prepareSchema(ctx context.Context, db *sql.DB, c config) error {
	st, err := inspectSchema(ctx, db, c)
	if err != nil || st.complete() {
		return err
	}
	if !c.autoCreate {
		for _, o := range st.missing {
			if o.kind == "table" {
				return fmt.Errorf("sqlite audit store: table %q (%s) does not exist and auto-create is off (WithoutAutoCreate); create it with the statements from sqlite.Schema or drop the option", o.name, o.option)
			}
		}
		if st.lockLacksTTL {
			return fmt.Errorf("sqlite audit store: lock table %q has no ttl_ms column and auto-create is off (WithoutAutoCreate); add it with: ALTER TABLE %s ADD COLUMN %s", c.lockTable, quote(c.lockTable), lockTTLColumn)
		}
		// A missing index only costs history reads by change; the one
		// thing the store still writes itself is the digest row, which
		// is data rather than schema.
		if !st.digestRowMissing {
			return nil
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite audit store: create tables: %w", err)
	}
	defer tx.Rollback()
	if c.autoCreate {
		for _, stmt := range c.schemaStatements() {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlite audit store: create tables: %w\n%s", err, stmt)
			}
		}
	}
	// Re-read inside the write transaction: another store may have done
	// the work since the first look.
	if st, err = inspectSchema(ctx, tx, c); err != nil {
		return err
	}
	if st.lockLacksTTL {
		stmt := "ALTER TABLE " + quote(c.lockTable) + " ADD COLUMN " + lockTTLColumn
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlite audit store: add the lease length column: %w\n%s", err, stmt)
		}
	}
	if st.digestRowMissing {
		if err := seedDigest(ctx, tx, c); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite audit store: create tables: commit: %w", err)
	}
	return nil
}

// seedDigest writes the digest row computed from the latest-state table, as
// it stands inside tx. It runs once per database (or after an upgrade from a
// store without the digest table); from then on every append keeps the row
// up to date.
func seedDigest(ctx context.Context, tx *sql.Tx, c config) error {
	rows, err := tx.QueryContext(ctx, `SELECT change_id, state, checksum FROM `+quote(c.latestTable))
	if err != nil {
		return fmt.Errorf("sqlite audit store: compute the applied digest: %w", err)
	}
	defer rows.Close()
	var d audit.AppliedDigest
	for rows.Next() {
		var id, state, checksum string
		if err := rows.Scan(&id, &state, &checksum); err != nil {
			return fmt.Errorf("sqlite audit store: compute the applied digest: %w", err)
		}
		if audit.IsAppliedState(audit.State(state)) {
			d.Add(audit.ChangeDigest(id, checksum))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite audit store: compute the applied digest: %w", err)
	}
	hi, lo := digestHalves(d.Sum)
	_, err = tx.ExecContext(ctx, `INSERT INTO `+quote(c.digestTable())+` (id, applied_count, sum_hi, sum_lo) VALUES (1, ?, ?, ?)`, d.Count, hi, lo)
	if err != nil {
		return fmt.Errorf("sqlite audit store: write the applied digest: %w", err)
	}
	return nil
}

// digestHalves splits a digest sum into the two signed integers the digest
// table stores; joinDigest puts them back together.
func digestHalves(sum [16]byte) (hi, lo int64) {
	return int64(binary.BigEndian.Uint64(sum[:8])), int64(binary.BigEndian.Uint64(sum[8:]))
}

func joinDigest(hi, lo int64) [16]byte {
	var sum [16]byte
	binary.BigEndian.PutUint64(sum[:8], uint64(hi))
	binary.BigEndian.PutUint64(sum[8:], uint64(lo))
	return sum
}

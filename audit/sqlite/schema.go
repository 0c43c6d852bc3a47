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
	stmts := []string{
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
	// Guards: the store itself only inserts into the history and moves a
	// latest-state row to a larger seq. Any other write to either table
	// (an operator's UPDATE or DELETE) removes the digest row, and the
	// next read rebuilds the latest states and the digest from the
	// history. The store's own writes fire nothing (the update guard's
	// WHEN is false for them).
	for _, g := range c.guardTriggers() {
		when := ""
		if g.when != "" {
			when = " WHEN " + g.when
		}
		stmts = append(stmts, "CREATE TRIGGER IF NOT EXISTS "+quote(g.name)+" AFTER "+g.event+" ON "+quote(g.table)+
			" FOR EACH ROW"+when+" BEGIN DELETE FROM "+quote(c.digestTable())+"; END")
	}
	return stmts
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
	// missing lists the tables, the index and the guard triggers that do
	// not exist, each with the option that names it.
	missing []schemaObject
	// historyMissing is set when the history table does not exist but
	// the latest-state or the digest table does.
	historyMissing bool
	// lockLacksTTL is set when the lock table exists without ttl_ms.
	lockLacksTTL bool
	// stale is set when the digest row is missing, or the newest history
	// entry is not its change's latest state (every append makes it so;
	// it is not after a table was re-created or rows were inserted by
	// hand), or the history is empty beside latest states: the latest
	// states and the digest are rebuilt from the history.
	stale bool
}

type schemaObject struct{ kind, option, name string }

func (st schemaState) complete() bool {
	return len(st.missing) == 0 && !st.lockLacksTTL && !st.stale && !st.historyMissing
}

// inspectSchema reads, without writing, what of the schema exists. It only
// needs a read transaction, which SQLite's WAL mode grants while another
// connection holds the write lock: a store can open next to a long write
// transaction.
func inspectSchema(ctx context.Context, q queryer, c config) (schemaState, error) {
	var st schemaState
	objects := []schemaObject{
		{"table", "WithHistoryTable", c.historyTable},
		{"index", "WithHistoryTable", c.changeIndex()},
		{"table", "WithLatestTable", c.latestTable},
		{"table", "WithLockTable", c.lockTable},
		{"table", "WithLatestTable", c.digestTable()},
	}
	for _, g := range c.guardTriggers() {
		objects = append(objects, schemaObject{"trigger", "guard", g.name})
	}
	exists := map[string]bool{}
	for _, o := range objects {
		var n int
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = ? AND name = ? COLLATE NOCASE`, o.kind, o.name).Scan(&n)
		if err != nil {
			return schemaState{}, fmt.Errorf("sqlite audit store: check %s %q: %w", o.kind, o.name, err)
		}
		if n == 0 {
			st.missing = append(st.missing, o)
			continue
		}
		exists[o.name] = true
		switch o.name {
		case c.lockTable:
			err = q.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = 'ttl_ms'`, o.name).Scan(&n)
			st.lockLacksTTL = n == 0
		case c.digestTable():
			err = q.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(o.name)+` WHERE id = 1`).Scan(&n)
			st.stale = st.stale || n == 0
		}
		if err != nil {
			return schemaState{}, fmt.Errorf("sqlite audit store: check %s %q: %w", o.kind, o.name, err)
		}
	}
	st.historyMissing = !exists[c.historyTable] && (exists[c.latestTable] || exists[c.digestTable()])
	if exists[c.historyTable] && exists[c.latestTable] {
		var behind bool
		// Every append makes the newest history entry its change's latest
		// state: two index lookups, whatever the number of changes.
		hist, latest := quote(c.historyTable), quote(c.latestTable)
		err := q.QueryRowContext(ctx, `SELECT coalesce((SELECT (SELECT l.seq FROM `+latest+` AS l WHERE l.change_id = h.change_id) IS NOT h.seq`+
			` FROM (SELECT seq, change_id FROM `+hist+` ORDER BY seq DESC LIMIT 1) AS h), EXISTS (SELECT 1 FROM `+latest+`))`).Scan(&behind)
		if err != nil {
			return schemaState{}, fmt.Errorf("sqlite audit store: compare %q with %q: %w", c.historyTable, c.latestTable, err)
		}
		st.stale = st.stale || behind
	}
	return st, nil
}

// historyMissingError is the error of a store that finds its history table
// gone beside tables derived from it.
func historyMissingError(c config) error {
	return fmt.Errorf("sqlite audit store: %w: table %q does not exist, but %q or %q does; the store will not start an empty trail over them. "+
		"Restore the history table (with its entries) from a backup; or, to start a new audit trail on purpose (every change will run again), drop %q and %q too",
		audit.ErrHistoryMissing, c.historyTable, c.latestTable, c.digestTable(), c.latestTable, c.digestTable())
}

// prepareSchema makes the database ready for the store. When everything
// exists, which is every open but the first, it only reads. Otherwise it
// creates what is missing (or, with auto-create off, reports the first
// missing table) in one write transaction. With _txlock=immediate that
// transaction takes the write lock up front, so stores opening at once run
// it one after the other, and the later ones, re-checking inside it, change
// nothing.
//
// The history is the record: a history missing beside the tables derived
// from it is refused ([audit.ErrHistoryMissing]); latest states and a digest
// that are missing or stale are rebuilt from it; a lock row (re)created
// beside a trail starts above every fencing token its entries carry.
func prepareSchema(ctx context.Context, db *sql.DB, c config) error {
	st, err := inspectSchema(ctx, db, c)
	if err != nil || st.complete() {
		return err
	}
	// A history that looks missing beside derived tables is judged again
	// inside the write transaction: the first look reads one object at a
	// time, and another store may have been creating them all meanwhile.
	if !c.autoCreate && !st.historyMissing {
		for _, o := range st.missing {
			if o.kind == "trigger" {
				c.log().Warn("flamingock audit store: a trigger that notices hand edits of the audit tables is missing and auto-create is off; run the statements from sqlite.Schema to add it",
					"trigger", o.name)
			}
			if o.kind == "table" {
				return fmt.Errorf("sqlite audit store: table %q (%s) does not exist and auto-create is off (WithoutAutoCreate); create it with the statements from sqlite.Schema or drop the option", o.name, o.option)
			}
		}
		if st.lockLacksTTL {
			return fmt.Errorf("sqlite audit store: lock table %q has no ttl_ms column and auto-create is off (WithoutAutoCreate); add it with: ALTER TABLE %s ADD COLUMN %s", c.lockTable, quote(c.lockTable), lockTTLColumn)
		}
		// A missing index only costs history reads by change, and
		// missing guards only let hand edits go unnoticed; what the store
		// still writes itself is data rather than schema: the digest
		// row, the derived latest states, the lock row's token.
		if !st.stale {
			return nil
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite audit store: create tables: %w", err)
	}
	defer tx.Rollback()
	// Re-read inside the write transaction: another store may have done
	// the work since the first look.
	if st, err = inspectSchema(ctx, tx, c); err != nil {
		return err
	}
	if st.historyMissing {
		return historyMissingError(c)
	}
	if c.autoCreate {
		for _, stmt := range c.schemaStatements() {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlite audit store: create tables: %w\n%s", err, stmt)
			}
		}
		if st, err = inspectSchema(ctx, tx, c); err != nil {
			return err
		}
	}
	if st.lockLacksTTL {
		stmt := "ALTER TABLE " + quote(c.lockTable) + " ADD COLUMN " + lockTTLColumn
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlite audit store: add the lease length column: %w\n%s", err, stmt)
		}
	}
	if err := raiseLockToken(ctx, tx, c); err != nil {
		return err
	}
	if st.stale {
		if err := rebuildIn(ctx, tx, c); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite audit store: create tables: commit: %w", err)
	}
	return nil
}

// raiseLockToken makes sure the lock row's token is not below a fencing
// token any entry of the trail carries, as after the lock table was dropped
// and re-created: the next acquisition then hands out a larger one.
func raiseLockToken(ctx context.Context, tx *sql.Tx, c config) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+quote(c.lockTable)+` (lock_key, token, owner_host, owner_pid, owner_run_id, acquired_at, expires_at, ttl_ms)
SELECT ?1, m.token, '', 0, '', 0, 0, 0 FROM (SELECT max(coalesce((SELECT max(token) FROM `+quote(c.historyTable)+`), 0), coalesce((SELECT max(token) FROM `+quote(c.latestTable)+`), 0)) AS token) AS m
WHERE m.token > 0
ON CONFLICT (lock_key) DO UPDATE SET token = excluded.token WHERE token < excluded.token`, c.lockKey)
	if err != nil {
		return fmt.Errorf("sqlite audit store: raise the lock's fencing token above the trail's: %w", err)
	}
	return nil
}

// rebuildIn derives the latest-state table and the digest row from the
// history, the record, inside the write transaction tx: the newest entry of
// every change. A history with no entries beside latest states is not
// rebuilt from: that would start an empty trail over an existing one. The
// history's AUTOINCREMENT counter is raised above every seq the latest
// states held, so sequence numbers never go backwards.
func rebuildIn(ctx context.Context, tx *sql.Tx, c config) error {
	hist, latest := quote(c.historyTable), quote(c.latestTable)
	var oldRows, oldMax, histMax int64
	err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(seq), 0), coalesce((SELECT max(seq) FROM `+hist+`), 0) FROM `+latest).Scan(&oldRows, &oldMax, &histMax)
	if err != nil {
		return fmt.Errorf("sqlite audit store: rebuild %q from %q: %w", c.latestTable, c.historyTable, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+latest); err != nil {
		return fmt.Errorf("sqlite audit store: rebuild %q from %q: %w", c.latestTable, c.historyTable, err)
	}
	all := strings.Join(columnNames(), ", ")
	res, err := tx.ExecContext(ctx, `INSERT INTO `+latest+` (`+all+`) SELECT `+all+` FROM `+hist+
		` WHERE seq IN (SELECT max(seq) FROM `+hist+` GROUP BY change_id)`)
	if err != nil {
		return fmt.Errorf("sqlite audit store: rebuild %q from %q: %w", c.latestTable, c.historyTable, err)
	}
	newRows, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite audit store: rebuild %q from %q: %w", c.latestTable, c.historyTable, err)
	}
	if newRows == 0 && oldRows > 0 {
		return fmt.Errorf("sqlite audit store: %w: %q has no entries while %q holds the latest state of %d changes; restore the history, or empty both tables to start a new trail",
			audit.ErrHistoryMissing, c.historyTable, c.latestTable, oldRows)
	}
	if oldMax > histMax {
		for _, stmt := range []string{
			`INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)`,
			`UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1 AND seq < ?2`,
		} {
			if _, err := tx.ExecContext(ctx, stmt, c.historyTable, oldMax); err != nil {
				return fmt.Errorf("sqlite audit store: raise the sequence of %q to %d: %w", c.historyTable, oldMax, err)
			}
		}
	}
	d, err := seedDigest(ctx, tx, c)
	if err != nil {
		return err
	}
	if oldRows == 0 && newRows == 0 {
		return nil // a new trail: nothing was rebuilt, nothing to report
	}
	c.log().Warn("flamingock audit store: rebuilt the latest states and the applied digest from the history (a table was re-created, the digest was missing, or audit rows were edited by hand)",
		"history", c.historyTable, "latest", c.latestTable, "digest", c.digestTable(),
		"changes_before", oldRows, "changes_after", newRows, "applied", d.Count)
	return nil
}

// seedDigest writes the digest row computed from the latest-state table, as
// it stands inside tx.
func seedDigest(ctx context.Context, tx *sql.Tx, c config) (audit.AppliedDigest, error) {
	var d audit.AppliedDigest
	rows, err := tx.QueryContext(ctx, `SELECT change_id, state, checksum FROM `+quote(c.latestTable))
	if err != nil {
		return d, fmt.Errorf("sqlite audit store: compute the applied digest: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, state, checksum string
		if err := rows.Scan(&id, &state, &checksum); err != nil {
			return d, fmt.Errorf("sqlite audit store: compute the applied digest: %w", err)
		}
		if audit.IsAppliedState(audit.State(state)) {
			d.Add(audit.ChangeDigest(id, checksum))
		}
	}
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("sqlite audit store: compute the applied digest: %w", err)
	}
	hi, lo := digestHalves(d.Sum)
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO `+quote(c.digestTable())+` (id, applied_count, sum_hi, sum_lo) VALUES (1, ?, ?, ?)`, d.Count, hi, lo)
	if err != nil {
		return d, fmt.Errorf("sqlite audit store: write the applied digest: %w", err)
	}
	return d, nil
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

package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
)

// MySQL error numbers the store tells apart.
const (
	errNoSuchTable   = 1146 // ER_NO_SUCH_TABLE
	errBadField      = 1054 // ER_BAD_FIELD_ERROR
	errDeadlock      = 1213 // ER_LOCK_DEADLOCK
	errAccessDenied  = 1142 // ER_TABLEACCESS_DENIED_ERROR
	errDBAccessDenid = 1044 // ER_DBACCESS_DENIED_ERROR
)

func mysqlErrno(err error) uint16 {
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		return me.Number
	}
	return 0
}

// errTablesMissing is wrapped by New's error when a table or column is
// missing and it may not create it, for the operations tools to add their
// hint.
var errTablesMissing = errors.New("the audit tables are not in place")

// Store is an [audit.Store] kept in MySQL or MariaDB tables. It is safe for
// concurrent use.
type Store struct {
	db     *sql.DB
	cfg    config
	q      queries
	closed atomic.Bool
}

// New returns a store on db (opened with the go-sql-driver/mysql driver, on
// the database the tables belong in), creating its tables unless
// [WithoutAutoCreate] is given. It first checks, read-only and in one round
// trip, that every table is in place; only when something is missing does
// it run the idempotent creation statements, which are safe when many
// instances start at once. A latest-state table found missing while the
// history has entries is rebuilt from the history.
//
// The driver's parseTime and loc settings do not matter: timestamps are
// exchanged as UTC text. db stays the caller's: [Store.Close] does not
// close it.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("mysql audit store: New: db is nil")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, cfg: cfg, q: buildQueries(cfg)}
	present, err := s.tablesPresent(ctx)
	if err != nil || present {
		return s, err
	}
	// Something is missing: from here on, one instance at a time (per
	// database) checks again and creates, under a named lock held on a
	// connection of its own. Otherwise an instance whose probe passed while
	// another was still creating could run a rebuild that waits on the
	// creator's metadata locks while the creator waits on its row locks, a
	// cycle the server does not detect.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("mysql audit store: check tables: %w", err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(CONCAT('flamingock_ddl.', SHA1(DATABASE())), 60)").Scan(&got); err != nil || got.Int64 != 1 {
		if err == nil {
			err = errors.New("another instance has held the schema-creation lock for 60s")
		}
		return nil, fmt.Errorf("mysql audit store: wait for the schema-creation lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(CONCAT('flamingock_ddl.', SHA1(DATABASE())))")
	if present, err := s.tablesPresent(ctx); err != nil || present {
		return s, err
	}
	missing, err := s.missingTables(ctx)
	if err != nil {
		return nil, err
	}
	if err := historyLost(missing, s.cfg); err != nil {
		return nil, err
	}
	if !cfg.autoCreate {
		errs := make([]error, len(missing))
		for i, m := range missing {
			errs[i] = fmt.Errorf("mysql audit store: %s does not exist and auto-create is off (WithoutAutoCreate); create it with the statements from mysql.Schema or drop the option: %w", m, errTablesMissing)
		}
		if len(errs) == 0 {
			return nil, fmt.Errorf("mysql audit store: the tables exist but a column the store needs is missing and auto-create is off (WithoutAutoCreate); compare them with the statements from mysql.Schema: %w", errTablesMissing)
		}
		return nil, errors.Join(errs...)
	}
	for attempt := 1; ; attempt++ {
		err := s.createTables(ctx, conn)
		// Every statement is idempotent: run them again after a deadlock
		// (with a store already running on these tables).
		if mysqlErrno(err) == errDeadlock && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	// CREATE TABLE IF NOT EXISTS leaves an existing table as it is: a table
	// of the right name without a column the store needs is still wrong.
	if present, err := s.tablesPresent(ctx); err != nil || !present {
		if err == nil {
			err = errors.New("mysql audit store: a table exists without a column the store needs; compare the tables with mysql.Schema")
		}
		return nil, err
	}
	if lostLatest(missing) {
		// The first read rebuilds the latest states from the history.
		if _, err := s.db.ExecContext(ctx, s.q.digestForget); err != nil {
			return nil, fmt.Errorf("mysql audit store: mark %s unknown after %s was recreated: %w", quote(s.cfg.digestTable()), quote(s.cfg.latest), err)
		}
	}
	return s, nil
}

// tablesPresent reports whether every table and column the store uses
// exists, with a statement that names them all. The same statement checks,
// with two primary-key lookups, that the history leads the latest states:
// its newest entry is its change's latest state, and it is not empty beside
// latest states. Every append keeps that so; a history restored from an
// older backup, replaced, or emptied with TRUNCATE (which fires no trigger)
// does not. Then the digest is marked unknown, and the next read rebuilds
// from the history, or refuses when the history is empty.
func (s *Store) tablesPresent(ctx context.Context) (bool, error) {
	var a, b, c, d sql.NullInt64
	var behind bool
	err := s.db.QueryRowContext(ctx, s.q.probe).Scan(&a, &b, &c, &d, &behind)
	switch {
	case err == nil:
	case mysqlErrno(err) == errNoSuchTable || mysqlErrno(err) == errBadField:
		return false, nil
	default:
		return false, fmt.Errorf("mysql audit store: check tables: %w", err)
	}
	if behind {
		if _, err := s.db.ExecContext(ctx, s.q.digestForget); err != nil {
			return false, fmt.Errorf("mysql audit store: mark %s unknown: the latest states in %s are not those of the history in %s: %w",
				quote(s.cfg.digestTable()), quote(s.cfg.latest), quote(s.cfg.history), err)
		}
	}
	return true, nil
}

// missingTables names the tables that do not exist in the connection's
// database, read from information_schema.
func (s *Store) missingTables(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q.missing)
	if err != nil {
		return nil, fmt.Errorf("mysql audit store: list tables: %w", err)
	}
	defer rows.Close()
	exist := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("mysql audit store: list tables: %w", err)
		}
		exist[strings.ToLower(name)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysql audit store: list tables: %w", err)
	}
	var missing []string
	for _, t := range []struct{ option, name string }{
		{"WithHistoryTable", s.cfg.history},
		{"WithLatestTable", s.cfg.latest},
		{"WithLockTable", s.cfg.lock},
		{"WithDigestTable", s.cfg.digestTable()},
	} {
		if !exist[strings.ToLower(t.name)] {
			missing = append(missing, fmt.Sprintf("table %s (%s)", quote(t.name), t.option))
		}
	}
	return missing, nil
}

// createTables runs the creation statements one by one (the driver sends
// one statement per call unless the DSN allows more).
func (s *Store) createTables(ctx context.Context, conn *sql.Conn) error {
	stmts := ddl(s.cfg)
	// The digest row's seed goes with the lock key as a parameter rather
	// than the script's literal, which would read differently under
	// NO_BACKSLASH_ESCAPES.
	stmts[seedIndex] = s.q.digestSeed
	for i, stmt := range stmts {
		var args []any
		if i == seedIndex {
			args = []any{s.cfg.lockKey}
		}
		if _, err := conn.ExecContext(ctx, stmt, args...); err != nil {
			hint := ""
			if n := mysqlErrno(err); n == errAccessDenied || n == errDBAccessDenid {
				hint = " (if this user may not run DDL, create the tables with the script from mysql.Schema and pass WithoutAutoCreate)"
			}
			return fmt.Errorf("mysql audit store: create tables %s, %s, %s, %s: %w%s",
				quote(s.cfg.history), quote(s.cfg.latest), quote(s.cfg.lock), quote(s.cfg.digestTable()), err, hint)
		}
	}
	return nil
}

// lostLatest reports whether the latest-state table was missing while the
// history was not: the one case where it has entries to be rebuilt from.
func lostLatest(missing []string) bool {
	latest, history := false, false
	for _, m := range missing {
		latest = latest || strings.HasSuffix(m, "(WithLatestTable)")
		history = history || strings.HasSuffix(m, "(WithHistoryTable)")
	}
	return latest && !history
}

// historyLost refuses to go on when the history table is missing while
// other tables of the store remain: creating an empty history there would
// start the trail over (and its sequence at 1) beside derived tables that
// say otherwise. New checks this before it creates anything.
func historyLost(missing []string, c config) error {
	history := false
	for _, m := range missing {
		history = history || strings.HasSuffix(m, "(WithHistoryTable)")
	}
	if !history || len(missing) == 4 {
		return nil
	}
	return fmt.Errorf("mysql audit store: the history table %s is missing while other tables of the store remain; "+
		"the history is the audit trail's record and cannot be rebuilt: restore it from a backup, or drop the other tables on purpose to start a new trail (New creates nothing meanwhile): %w", quote(c.history), audit.ErrHistoryMissing)
}

// DB returns the database the store uses. Targets use it to recognise a
// store that shares their database, so that a change and its audit entry
// commit in one transaction (see [Store.AppendTx]).
func (s *Store) DB() *sql.DB { return s.db }

// Append implements [audit.Store.Append] in one transaction: the lease
// check, the digest update, the history insert and the latest-state upsert.
// It returns [audit.ErrFenced] when e.Token is not the current, unexpired
// lease. A deadlock reported by the server (possible when appends meet a
// takeover) is retried.
func (s *Store) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if s.closed.Load() {
		return audit.Entry{}, audit.ErrClosed
	}
	if err := checkEntry(e); err != nil {
		return audit.Entry{}, err
	}
	for attempt := 1; ; attempt++ {
		out, err := s.appendOwnTx(ctx, e)
		if mysqlErrno(err) == errDeadlock && attempt < 3 {
			continue
		}
		return out, err
	}
}

func (s *Store) appendOwnTx(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return audit.Entry{}, fmt.Errorf("mysql audit store: append %s entry for change %q: begin: %w", e.State, e.ChangeID, err)
	}
	out, err := s.append(ctx, tx, e)
	if err != nil {
		_ = tx.Rollback()
		return audit.Entry{}, err
	}
	if err := tx.Commit(); err != nil {
		return audit.Entry{}, fmt.Errorf("mysql audit store: append %s entry for change %q: commit: %w", e.State, e.ChangeID, err)
	}
	return out, nil
}

// AppendTx appends e inside the caller's transaction tx, with the same
// fenced statements as [Store.Append]: the entry commits or rolls back with
// tx. tx must be a transaction on the database this store's tables live in.
//
// Until tx ends, the lock row stays locked in share mode and the digest row
// exclusively, so a lease refresh and other appends wait for tx: append
// last, and commit right after.
func (s *Store) AppendTx(ctx context.Context, tx *sql.Tx, e audit.Entry) (audit.Entry, error) {
	if s.closed.Load() {
		return audit.Entry{}, audit.ErrClosed
	}
	if tx == nil {
		return audit.Entry{}, errors.New("mysql audit store: AppendTx: tx is nil")
	}
	if err := checkEntry(e); err != nil {
		return audit.Entry{}, err
	}
	return s.append(ctx, tx, e)
}

// append runs the fenced append in tx. The digest row is updated before the
// history insert, so appends are serialised from that point on and each
// one's seq (assigned by the insert) is above every earlier committed one.
func (s *Store) append(ctx context.Context, tx *sql.Tx, e audit.Entry) (audit.Entry, error) {
	fail := func(step string, err error) (audit.Entry, error) {
		return audit.Entry{}, fmt.Errorf("mysql audit store: append %s entry for change %q: %s: %w", e.State, e.ChangeID, step, err)
	}
	var now dbTime
	err := tx.QueryRowContext(ctx, s.q.fence, s.cfg.lockKey, e.Token).Scan(&now)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Entry{}, fmt.Errorf("%w (change %q, token %d)", audit.ErrFenced, e.ChangeID, e.Token)
	}
	if err != nil {
		return fail("check the lease in "+quote(s.cfg.lock), err)
	}
	e.CreatedAt = now.Time
	args, err := entryArgs(e)
	if err != nil {
		return audit.Entry{}, err
	}
	var hi, lo uint64
	var applied int64
	if audit.IsAppliedState(e.State) {
		hi, lo = digestHalves(audit.ChangeDigest(e.ChangeID, e.Checksum))
		applied = 1
	}
	if _, err := tx.ExecContext(ctx, s.q.digestApply, e.ChangeID, applied, hi, lo, s.cfg.lockKey); err != nil {
		return fail("update "+quote(s.cfg.digestTable()), err)
	}
	created := e.CreatedAt.Format(timeFormat)
	res, err := tx.ExecContext(ctx, s.q.insert, append([]any{created}, args...)...)
	if err != nil {
		return fail("insert into "+quote(s.cfg.history), err)
	}
	if e.Seq, err = res.LastInsertId(); err != nil {
		return fail("read the seq of the history row", err)
	}
	// The latest row always carries the change's digest, applied or not,
	// so that a later append can XOR it out without recomputing it.
	rowHi, rowLo := digestHalves(audit.ChangeDigest(e.ChangeID, e.Checksum))
	upsertArgs := append(append([]any{e.Seq, created}, args...), rowHi, rowLo)
	if _, err := tx.ExecContext(ctx, s.q.upsert, upsertArgs...); err != nil {
		return fail("upsert into "+quote(s.cfg.latest), err)
	}
	return e, nil
}

// checkEntry validates e, and checks that its values fit their columns: a
// server outside strict sql_mode would truncate an oversized or badly
// encoded value with a mere warning, which would corrupt the trail.
func checkEntry(e audit.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(e.ChangeID); n > maxChangeID {
		return fmt.Errorf("mysql audit store: entry for %q: change_id is %d characters long, more than the %d the store keeps", e.ChangeID, n, maxChangeID)
	}
	fields := []struct{ name, value string }{
		{"run_id", e.RunID}, {"stage", e.Stage}, {"change_id", e.ChangeID}, {"author", e.Author},
		{"order", e.Order}, {"target_id", e.TargetID}, {"tx_strategy", string(e.TxStrategy)},
		{"recovery", e.Recovery}, {"checksum", e.Checksum}, {"host", e.Host},
		{"tool_version", e.ToolVersion}, {"actor", e.Actor}, {"reason", e.Reason}, {"error", e.Error},
	}
	for _, f := range fields {
		if !utf8.ValidString(f.value) {
			return fmt.Errorf("mysql audit store: entry for %q: %s is not valid UTF-8", e.ChangeID, f.name)
		}
		if len(f.value) > maxText {
			return fmt.Errorf("mysql audit store: entry for %q: %s is %d bytes, more than the %d a MEDIUMTEXT column holds", e.ChangeID, f.name, len(f.value), maxText)
		}
	}
	if len(e.TxStrategy) > 64 || len(e.Recovery) > 64 {
		return fmt.Errorf("mysql audit store: entry for %q: tx_strategy %q or recovery %q is longer than 64 characters", e.ChangeID, e.TxStrategy, e.Recovery)
	}
	return nil
}

// entryArgs returns e's values in the order of entryColumns.
func entryArgs(e audit.Entry) ([]any, error) {
	var metadata *string
	if len(e.Metadata) > 0 {
		b, err := json.Marshal(e.Metadata)
		if err != nil {
			return nil, fmt.Errorf("mysql audit store: entry for %q: metadata: %w", e.ChangeID, err)
		}
		if len(b) > maxText {
			return nil, fmt.Errorf("mysql audit store: entry for %q: metadata is %d bytes as JSON, more than the %d a MEDIUMTEXT column holds", e.ChangeID, len(b), maxText)
		}
		m := string(b)
		metadata = &m
	}
	return []any{
		e.RunID, e.Stage, e.ChangeID, e.Author, e.Order, string(e.State), e.TargetID,
		string(e.TxStrategy), e.Recovery, e.Checksum, int64(e.Duration), e.Host, int32(e.PID),
		e.ToolVersion, e.Actor, e.Reason, e.Error, metadata, e.Token,
	}, nil
}

// scanEntry reads a row selected with selectColumns.
func scanEntry(rows *sql.Rows) (audit.Entry, error) {
	var (
		e          audit.Entry
		created    dbTime
		state, txs string
		duration   int64
		metadata   sql.NullString
	)
	err := rows.Scan(&e.Seq, &created, &e.RunID, &e.Stage, &e.ChangeID, &e.Author, &e.Order, &state, &e.TargetID,
		&txs, &e.Recovery, &e.Checksum, &duration, &e.Host, &e.PID,
		&e.ToolVersion, &e.Actor, &e.Reason, &e.Error, &metadata, &e.Token)
	if err != nil {
		return audit.Entry{}, err
	}
	e.CreatedAt, e.State, e.TxStrategy, e.Duration = created.Time, audit.State(state), audit.TxStrategy(txs), time.Duration(duration)
	// Metadata edited by hand into something else than an object of
	// strings is returned as far as it reads, with a ReadError: one
	// damaged row must not make every snapshot fail. A state the store
	// does not know is returned as stored, for the runner to judge.
	if metadata.Valid {
		e.Metadata, e.ReadError = audit.DecodeMetadata([]byte(metadata.String))
	}
	return e, nil
}

func (s *Store) queryEntries(ctx context.Context, query string, args ...any) ([]audit.Entry, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Snapshot implements [audit.Store.Snapshot] with one SELECT of the
// latest-state table, after a one-row read of the digest that says whether
// the latest states can be trusted: its cost depends on the number of
// changes, not on the length of the history. When the digest is unknown
// (the guard triggers saw a hand edit, or a table was recreated) it first
// rebuilds the latest states from the history.
func (s *Store) Snapshot(ctx context.Context) (audit.Snapshot, error) {
	if s.closed.Load() {
		return nil, audit.ErrClosed
	}
	if err := s.rebuildIfStale(ctx); err != nil {
		return nil, err
	}
	entries, err := s.queryEntries(ctx, s.q.snapshot)
	if err != nil {
		return nil, fmt.Errorf("mysql audit store: read latest states from %s: %w", quote(s.cfg.latest), err)
	}
	snap := make(audit.Snapshot, len(entries))
	for _, e := range entries {
		snap[e.ChangeID] = e
	}
	return snap, nil
}

// History implements [audit.Store.History]; the filters run in the
// database.
func (s *Store) History(ctx context.Context, q audit.HistoryQuery) ([]audit.Entry, error) {
	if s.closed.Load() {
		return nil, audit.ErrClosed
	}
	var (
		where []string
		args  []any
	)
	if q.ChangeID != "" {
		where, args = append(where, "change_id = ?"), append(args, q.ChangeID)
	}
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, string(q.State))
	}
	if !q.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, q.Since.UTC().Format(timeFormat))
	}
	query := s.q.history
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY seq"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, int64(q.Limit))
	}
	entries, err := s.queryEntries(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("mysql audit store: read history from %s: %w", quote(s.cfg.history), err)
	}
	return entries, nil
}

// Close marks the store closed; later calls return [audit.ErrClosed]. It
// does not close the database, which belongs to the caller.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// dbTime scans a DATETIME(6) column (or UTC_TIMESTAMP(6)) as a UTC time,
// whatever the driver's parseTime and loc: as text without parseTime, and
// as a time whose wall clock is read as UTC with it (the driver attaches
// loc to the wall clock it received).
type dbTime struct{ time.Time }

func (t *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		t.Time = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		return nil
	case []byte:
		return t.parse(string(v))
	case string:
		return t.parse(v)
	}
	return fmt.Errorf("mysql audit store: cannot read %T as a timestamp", v)
}

func (t *dbTime) parse(s string) error {
	p, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("mysql audit store: timestamp %q: %w", s, err)
	}
	t.Time = p
	return nil
}

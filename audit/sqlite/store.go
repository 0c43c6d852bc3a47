package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flamingock/flamingock-go/audit"

	sqlitedriver "modernc.org/sqlite" // also registers the "sqlite" driver
)

// OpenDB opens the SQLite database file at path with the settings the store
// relies on: write transactions that take the write lock when they begin
// (_txlock=immediate), a 10 s busy timeout so concurrent writers wait
// instead of failing, WAL journaling so readers do not block the writer, and
// foreign keys on. Share the returned database between the audit store
// ([New]) and a SQL target to get shared transactions.
func OpenDB(path string) (*sql.DB, error) {
	switch {
	case path == "":
		return nil, errors.New("sqlite audit store: empty database path")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return nil, fmt.Errorf("sqlite audit store: database path %q: give a file path (an in-memory SQLite database is private to one connection; use the audit/memory store instead)", path)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite audit store: open %s: %w", path, err)
	}
	if err := pingUntilNotBusy(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite audit store: open %s: %w", path, err)
	}
	return db, nil
}

// busyTimeout matches the busy_timeout pragma in dsn.
const busyTimeout = 10 * time.Second

// pingUntilNotBusy opens the first connection, retrying while SQLite answers
// SQLITE_BUSY. The first connection to a new file switches it to WAL, which
// needs an exclusive lock; when several processes do that at once they can
// deadlock on the lock upgrade, and SQLite then fails one of them at once
// instead of calling the busy handler. Once the file is in WAL mode (a
// persistent setting) later connections do not need that lock.
func pingUntilNotBusy(db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	delay := time.Millisecond
	for {
		err := db.Ping()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay) // back off before retrying
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (primary code 5, any
// extended code).
func isBusy(err error) bool {
	var se *sqlitedriver.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// isBusyOrLocked reports whether err is SQLITE_BUSY or SQLITE_LOCKED
// (primary code 6): the write lock could not be had in time.
func isBusyOrLocked(err error) bool {
	var se *sqlitedriver.Error
	return errors.As(err, &se) && (se.Code()&0xff == 5 || se.Code()&0xff == 6)
}

// dsn builds the driver's URI for path. SQLite decodes %XX escapes in a URI
// path, so the characters that would end the path early are escaped.
func dsn(path string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	return "file:" + escaped + "?" + q.Encode()
}

// Store is the SQLite audit store. It implements [audit.Store].
type Store struct {
	db     *sql.DB
	ownsDB bool
	cfg    config
	sql    statements
	closed atomic.Bool

	// Prepared once: SQLite spends more time parsing these statements
	// than running them.
	insert, prevLatest, upsertLatest, updateDigest, renewLease, snapshot, hasDigest *sql.Stmt
}

var _ audit.DigestStore = (*Store)(nil)

// Open opens (creating if needed) the database file at path with [OpenDB]
// and returns a store on it. The store owns the database: Close closes it.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	db, err := OpenDB(path)
	if err != nil {
		return nil, err
	}
	s, err := newStore(ctx, db, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	return s, nil
}

// New returns a store on the caller's database, creating its tables unless
// [WithoutAutoCreate] is given (then it checks they exist). The caller keeps
// ownership: Close does not close db. Open db with [OpenDB], or with the same
// settings, so that concurrent writers wait for each other.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlite audit store: nil *sql.DB")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newStore(ctx, db, cfg)
}

func newStore(ctx context.Context, db *sql.DB, cfg config) (*Store, error) {
	if err := prepareSchema(ctx, db, cfg); err != nil {
		return nil, err
	}
	s := &Store{db: db, cfg: cfg, sql: buildStatements(cfg)}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.insert, s.sql.insert},
		{&s.prevLatest, s.sql.prevLatest},
		{&s.upsertLatest, s.sql.upsertLatest},
		{&s.updateDigest, s.sql.updateDigest},
		{&s.renewLease, s.sql.renewLease},
		{&s.snapshot, s.sql.snapshot},
		{&s.hasDigest, s.sql.hasDigest},
	} {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			s.closeStatements()
			return nil, fmt.Errorf("sqlite audit store: prepare: %w\n%s", err, p.query)
		}
		*p.dst = stmt
	}
	return s, nil
}

func (s *Store) closeStatements() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{s.insert, s.prevLatest, s.upsertLatest, s.updateDigest, s.renewLease, s.snapshot, s.hasDigest} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// DB returns the database the store writes to, so a SQL target can run
// changes in transactions that [Store.AppendTx] writes the audit entry into.
func (s *Store) DB() *sql.DB { return s.db }

// Close implements [audit.Store.Close]. It closes the database only if the
// store opened it ([Open]).
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return audit.ErrClosed
	}
	err := s.closeStatements()
	if s.ownsDB {
		err = errors.Join(err, s.db.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlite audit store: close: %w", err)
	}
	return nil
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return audit.ErrClosed
	}
	return ctx.Err()
}

// Append implements [audit.Store.Append] in a transaction of its own. The
// entry's token must be the current lease's and the lease unexpired.
func (s *Store) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if err := s.check(ctx); err != nil {
		return audit.Entry{}, err
	}
	if err := e.Validate(); err != nil {
		return audit.Entry{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: begin: %w", e.ChangeID, e.State, err)
	}
	defer tx.Rollback()
	stored, err := s.appendIn(ctx, tx, e, false)
	if err != nil {
		return audit.Entry{}, err
	}
	if err := tx.Commit(); err != nil {
		return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: commit: %w", e.ChangeID, e.State, err)
	}
	return stored, nil
}

// AppendTx appends e inside the caller's transaction tx, which must be on
// the store's database ([Store.DB]); a transaction on another *sql.DB, even
// on the same file, is refused by database/sql. The entry exists only if tx
// commits. This is how a change and its APPLIED entry commit together.
//
// The write is fenced by the token alone: it returns [audit.ErrFenced] and
// writes nothing when e.Token is not the lock row's token or the lease was
// released, but an expired lease that nobody took over still passes, and
// the lease is renewed (from now, by the length its holder last asked for)
// in the same transaction. That is sound because tx is a SQLite write
// transaction: while it is open no other connection can write, so nobody can
// take the lock over, and a token that is still current means nobody else
// holds the lock. It is also necessary: a change that runs longer than the
// lease holds the only write lock for all that time, so its holder cannot
// refresh the lease, and an expiry check would reject every such change.
// After tx commits, the holder's lease is fresh.
func (s *Store) AppendTx(ctx context.Context, tx *sql.Tx, e audit.Entry) (audit.Entry, error) {
	if err := s.check(ctx); err != nil {
		return audit.Entry{}, err
	}
	if err := e.Validate(); err != nil {
		return audit.Entry{}, err
	}
	return s.appendIn(ctx, tx, e, true)
}

// appendIn is the one append both Append and AppendTx run: the fenced
// history insert, the latest-state upsert and the digest update, all in tx.
// tokenOnly selects AppendTx's fencing and lease renewal.
func (s *Store) appendIn(ctx context.Context, tx *sql.Tx, e audit.Entry, tokenOnly bool) (audit.Entry, error) {
	meta := ""
	if len(e.Metadata) > 0 {
		b, err := json.Marshal(e.Metadata)
		if err != nil {
			return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: encode metadata: %w", e.ChangeID, e.State, err)
		}
		meta = string(b)
	}
	args := []any{
		e.RunID, e.Stage, e.ChangeID, e.Author, e.Order, string(e.State), e.TargetID,
		string(e.TxStrategy), e.Recovery, e.Checksum, int64(e.Duration), e.Host, e.PID,
		e.ToolVersion, e.Actor, e.Reason, e.Error, meta, e.Token,
		s.cfg.lockKey, e.Token, tokenOnly,
	}
	var createdMillis int64
	insert := tx.StmtContext(ctx, s.insert)
	defer insert.Close()
	err := insert.QueryRowContext(ctx, args...).Scan(&e.Seq, &createdMillis)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s with token %d: %w", e.ChangeID, e.State, e.Token, audit.ErrFenced)
	}
	if err != nil {
		return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: %w", e.ChangeID, e.State, err)
	}

	var delta audit.AppliedDigest
	var prevState, prevChecksum string
	prev := tx.StmtContext(ctx, s.prevLatest)
	defer prev.Close()
	switch err := prev.QueryRowContext(ctx, e.ChangeID).Scan(&prevState, &prevChecksum); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: read the latest state: %w", e.ChangeID, e.State, err)
	case audit.IsAppliedState(audit.State(prevState)):
		delta.Remove(audit.ChangeDigest(e.ChangeID, prevChecksum))
	}
	if audit.IsAppliedState(e.State) {
		delta.Add(audit.ChangeDigest(e.ChangeID, e.Checksum))
	}

	upsert := tx.StmtContext(ctx, s.upsertLatest)
	defer upsert.Close()
	if _, err := upsert.ExecContext(ctx, e.Seq); err != nil {
		return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: update latest state: %w", e.ChangeID, e.State, err)
	}
	// Nothing to do when the applied set is unchanged (a failure after a
	// failure, or a re-apply with the same checksum).
	if delta != (audit.AppliedDigest{}) {
		hi, lo := digestHalves(delta.Sum)
		update := tx.StmtContext(ctx, s.updateDigest)
		defer update.Close()
		if _, err := update.ExecContext(ctx, delta.Count, hi, lo); err != nil {
			return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: update the applied digest: %w", e.ChangeID, e.State, err)
		}
	}
	if tokenOnly {
		renew := tx.StmtContext(ctx, s.renewLease)
		defer renew.Close()
		if _, err := renew.ExecContext(ctx, s.cfg.lockKey, e.Token); err != nil {
			return audit.Entry{}, fmt.Errorf("sqlite audit store: append %s %s: renew the lease: %w", e.ChangeID, e.State, err)
		}
	}
	e.CreatedAt = fromMillis(createdMillis)
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	} else {
		e.Metadata = maps.Clone(e.Metadata)
	}
	return e, nil
}

// AppliedDigest implements [audit.DigestStore]: one single-row read,
// whatever the number of changes. Every append updates the row in its own
// transaction. When the row is missing (the guard triggers delete it when
// the history or the latest states are edited by hand), it rebuilds the
// latest states and the digest from the history first.
func (s *Store) AppliedDigest(ctx context.Context) (audit.AppliedDigest, error) {
	if err := s.check(ctx); err != nil {
		return audit.AppliedDigest{}, err
	}
	for rebuilt := false; ; rebuilt = true {
		var d audit.AppliedDigest
		var hi, lo int64
		err := s.db.QueryRowContext(ctx, s.sql.readDigest).Scan(&d.Count, &hi, &lo)
		if errors.Is(err, sql.ErrNoRows) && !rebuilt {
			if err := s.rebuild(ctx); err != nil {
				return audit.AppliedDigest{}, err
			}
			continue
		}
		if err != nil {
			return audit.AppliedDigest{}, fmt.Errorf("sqlite audit store: read the applied digest from %q: %w", s.cfg.digestTable(), err)
		}
		d.Sum = joinDigest(hi, lo)
		return d, nil
	}
}

// rebuild rebuilds the latest states and the digest from the history in a
// write transaction, unless another store did it meanwhile.
func (s *Store) rebuild(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite audit store: rebuild from the history: begin: %w", err)
	}
	defer tx.Rollback()
	var present bool
	if err := tx.QueryRowContext(ctx, s.sql.hasDigest).Scan(&present); err != nil {
		return fmt.Errorf("sqlite audit store: read %q: %w", s.cfg.digestTable(), err)
	}
	if present {
		return nil
	}
	if err := rebuildIn(ctx, tx, s.cfg); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite audit store: rebuild from the history: commit: %w", err)
	}
	return nil
}

// Snapshot implements [audit.Store.Snapshot]. It reads the latest-state
// table only, whose size is the number of changes, not of entries. When
// the digest row is missing (see [Store.AppliedDigest]) the latest states
// may not be what the history says, and it rebuilds them first, so the
// digest and the snapshot always agree.
func (s *Store) Snapshot(ctx context.Context) (audit.Snapshot, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var present bool
	if err := s.hasDigest.QueryRowContext(ctx).Scan(&present); err != nil {
		return nil, fmt.Errorf("sqlite audit store: snapshot: read %q: %w", s.cfg.digestTable(), err)
	}
	if !present {
		if err := s.rebuild(ctx); err != nil {
			return nil, err
		}
	}
	rows, err := s.snapshot.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite audit store: snapshot: %w", err)
	}
	entries, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite audit store: snapshot: %w", err)
	}
	snap := make(audit.Snapshot, len(entries))
	for _, e := range entries {
		snap[e.ChangeID] = e
	}
	return snap, nil
}

// History implements [audit.Store.History].
func (s *Store) History(ctx context.Context, q audit.HistoryQuery) ([]audit.Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if q.ChangeID != "" {
		where, args = append(where, "change_id = ?"), append(args, q.ChangeID)
	}
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, string(q.State))
	}
	if !q.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, ceilMillis(q.Since))
	}
	stmt := s.sql.history
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	stmt += " ORDER BY seq"
	if q.Limit > 0 {
		stmt, args = stmt+" LIMIT ?", append(args, q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite audit store: history: %w", err)
	}
	entries, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite audit store: history: %w", err)
	}
	return entries, nil
}

// scanEntries reads and closes rows of entryColumns.
func scanEntries(rows *sql.Rows) ([]audit.Entry, error) {
	defer rows.Close()
	var out []audit.Entry
	// The entries of one run share their metadata text; decode each text
	// once and give every entry its own copy.
	decoded := map[string]decodedMetadata{}
	for rows.Next() {
		e, err := scanEntry(rows, decoded)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// decodedMetadata is a stored metadata text, decoded.
type decodedMetadata struct {
	m       map[string]string
	problem string
}

// scanEntry reads the columns of entryColumns, in that order. decoded
// caches metadata already decoded.
func scanEntry(rows *sql.Rows, decoded map[string]decodedMetadata) (audit.Entry, error) {
	var (
		e                        audit.Entry
		state, strategy, meta    string
		createdMillis, durationN int64
	)
	err := rows.Scan(&e.Seq, &e.RunID, &e.Stage, &e.ChangeID, &e.Author, &e.Order, &state, &e.TargetID,
		&strategy, &e.Recovery, &e.Checksum, &createdMillis, &durationN, &e.Host, &e.PID,
		&e.ToolVersion, &e.Actor, &e.Reason, &e.Error, &meta, &e.Token)
	if err != nil {
		return audit.Entry{}, err
	}
	e.State, e.TxStrategy = audit.State(state), audit.TxStrategy(strategy)
	e.CreatedAt, e.Duration = fromMillis(createdMillis), time.Duration(durationN)
	if meta != "" {
		d, ok := decoded[meta]
		if !ok {
			// A hand-edited row may hold metadata of another shape: read
			// what it holds and say so, rather than fail every read.
			d.m, d.problem = audit.DecodeMetadata([]byte(meta))
			decoded[meta] = d
		}
		e.Metadata, e.ReadError = maps.Clone(d.m), d.problem
	}
	return e, nil
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// ceilMillis rounds t up to a whole millisecond, so that "created_at >= it"
// matches exactly the entries that are not before t.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

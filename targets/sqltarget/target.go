package sqltarget

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
)

// Target is a SQLite database target. Create it with [New].
type Target struct {
	id          string
	db          *sql.DB
	markerTable string
	// sqlite is whether db's driver is a SQLite driver; see
	// [Tx.BlocksLockTakeover].
	sqlite bool

	mu      sync.Mutex
	created bool
}

// Option configures a [Target].
type Option func(*Target) error

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// WithMarkerTable names the commit-marker table (default
// "flamingock_marker"). The name must be a plain SQL identifier.
func WithMarkerTable(name string) Option {
	return func(t *Target) error {
		if !identifier.MatchString(name) {
			return fmt.Errorf("sqltarget: WithMarkerTable: %q is not a valid table name (letters, digits and _, starting with a letter or _, at most 63)", name)
		}
		t.markerTable = name
		return nil
	}
}

// New returns a target with the given id over db, which must be a SQLite
// database (ideally opened with sqlite.OpenDB from audit/sqlite): the
// target's SQL is SQLite's (it looks tables up in sqlite_schema and binds
// parameters with ?), and it is tested on modernc.org/sqlite only.
//
// Commit markers are keyed by change id alone. Two pipelines that keep
// their audit trails in different stores but change one database must not
// share change ids, or one's marker could be taken for the other's commit.
func New(id string, db *sql.DB, opts ...Option) (*Target, error) {
	if id == "" {
		return nil, errors.New("sqltarget: target id is empty")
	}
	if db == nil {
		return nil, fmt.Errorf("sqltarget: target %q: db is nil", id)
	}
	t := &Target{id: id, db: db, markerTable: "flamingock_marker", sqlite: isSQLiteDriver(db.Driver())}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ID implements [flamingock.Target].
func (t *Target) ID() string { return t.id }

// Provide gives non-transactional changes the *sql.DB, and SQL-file
// changes an [sqlscript.Execer] over it.
func (t *Target) Provide(d *flamingock.Deps) {
	flamingock.Provide(d, t.db)
	flamingock.Provide[sqlscript.Execer](d, execer{t.db, t.dialect()})
}

// TxTypes reports that transactional changes receive a *sql.Tx.
func (t *Target) TxTypes() []reflect.Type {
	return []reflect.Type{flamingock.TypeOf[*sql.Tx](), flamingock.TypeOf[sqlscript.Execer]()}
}

// sharedStore is what an audit store offers to write inside this target's
// transactions; audit/sqlite implements it.
type sharedStore interface {
	DB() *sql.DB
	AppendTx(ctx context.Context, tx *sql.Tx, e audit.Entry) (audit.Entry, error)
}

// SharedAudit returns an appender when store keeps its trail in the same
// *sql.DB as the target.
func (t *Target) SharedAudit(store audit.Store) (flamingock.TxAppender, bool) {
	s, ok := store.(sharedStore)
	if !ok || s.DB() != t.db {
		return nil, false
	}
	return func(ctx context.Context, tx flamingock.TargetTx, e audit.Entry) (audit.Entry, error) {
		x, ok := tx.(interface{ SQLTx() *sql.Tx })
		if !ok {
			return audit.Entry{}, fmt.Errorf("sqltarget: shared audit append: transaction %T is not one of this target's", tx)
		}
		return s.AppendTx(ctx, x.SQLTx(), e)
	}, true
}

// Begin starts a transaction, creating the marker table first if needed.
func (t *Target) Begin(ctx context.Context) (flamingock.TargetTx, error) {
	// Created before the transaction: on SQLite a second connection could
	// not write while the transaction holds the database.
	if err := t.ensureMarkerTable(ctx); err != nil {
		return nil, err
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{t: t, tx: tx}, nil
}

// ensureMarkerTable creates the marker table once per target.
func (t *Target) ensureMarkerTable(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.created {
		return nil
	}
	_, err := t.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+t.markerTable+` (
	change_id TEXT PRIMARY KEY,
	run_id    TEXT NOT NULL,
	token     INTEGER NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("sqltarget: creating marker table %s: %w", t.markerTable, err)
	}
	t.created = true
	return nil
}

// ReadMarker returns the commit marker of a change.
func (t *Target) ReadMarker(ctx context.Context, changeID string) (flamingock.Marker, bool, error) {
	// Reading must not write: Plan (a dry run) reads markers too. A marker
	// table that does not exist yet holds no marker.
	var exists int
	err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, t.markerTable).Scan(&exists)
	if err != nil {
		return flamingock.Marker{}, false, fmt.Errorf("sqltarget: looking up marker table %s: %w", t.markerTable, err)
	}
	if exists == 0 {
		return flamingock.Marker{}, false, nil
	}
	return readMarker(ctx, t.db, t.markerTable, changeID)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readMarker(ctx context.Context, q queryer, table, changeID string) (flamingock.Marker, bool, error) {
	m := flamingock.Marker{ChangeID: changeID}
	err := q.QueryRowContext(ctx, `SELECT run_id, token FROM `+table+` WHERE change_id = ?`, changeID).Scan(&m.RunID, &m.Token)
	if errors.Is(err, sql.ErrNoRows) {
		return flamingock.Marker{}, false, nil
	}
	if err != nil {
		return flamingock.Marker{}, false, fmt.Errorf("sqltarget: reading marker of %q: %w", changeID, err)
	}
	return m, true, nil
}

// Tx is an open transaction on the target.
type Tx struct {
	t  *Target
	tx *sql.Tx
}

// SQLTx returns the underlying transaction.
func (x *Tx) SQLTx() *sql.Tx { return x.tx }

// Provide gives transactional changes the *sql.Tx, and SQL-file changes an
// [sqlscript.Execer] over it.
func (x *Tx) Provide(d *flamingock.Deps) {
	flamingock.Provide(d, x.tx)
	flamingock.Provide[sqlscript.Execer](d, execer{x.tx, x.t.dialect()})
}

// WriteMarker upserts the change's marker unless a marker at or above since
// exists, in which case another attempt committed the change.
func (x *Tx) WriteMarker(ctx context.Context, m flamingock.Marker, since int64) error {
	res, err := x.tx.ExecContext(ctx, `INSERT INTO `+x.t.markerTable+` (change_id, run_id, token) VALUES (?, ?, ?)
ON CONFLICT (change_id) DO UPDATE SET run_id = excluded.run_id, token = excluded.token
WHERE `+x.t.markerTable+`.token < ?`, m.ChangeID, m.RunID, m.Token, since)
	if err != nil {
		return fmt.Errorf("sqltarget: writing marker of %q: %w", m.ChangeID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	existing, found, err := readMarker(ctx, x.tx, x.t.markerTable, m.ChangeID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("sqltarget: marker of %q was neither written nor found", m.ChangeID)
	}
	return &flamingock.MarkerConflictError{Existing: existing}
}

// BlocksLockTakeover implements [flamingock.LockTakeoverBlocker]: it is true
// on SQLite, where the transaction (begun IMMEDIATE with sqlite.OpenDB's
// settings, or at its first write otherwise) holds the database's only write
// lock until it ends, so no other process can write at all, let alone take
// over an audit lock kept in the same file. The runner then pauses its lease
// heartbeat, whose refresh could only wait for this transaction, and relies
// on the shared-transaction append (audit/sqlite's AppendTx) to renew the
// lease when it records APPLIED.
func (x *Tx) BlocksLockTakeover() bool { return x.t.sqlite }

// isSQLiteDriver reports whether d belongs to a SQLite driver package
// (modernc.org/sqlite, github.com/mattn/go-sqlite3, ...), judged by the
// driver type's package path.
func isSQLiteDriver(d driver.Driver) bool {
	t := reflect.TypeOf(d)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && strings.Contains(strings.ToLower(t.PkgPath()), "sqlite")
}

// Commit commits the transaction.
func (x *Tx) Commit(context.Context) error { return x.tx.Commit() }

// Rollback rolls the transaction back.
func (x *Tx) Rollback(context.Context) error { return x.tx.Rollback() }

package sqltarget

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sync"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
	"github.com/flamingock/flamingock-go/targets"
)

// Target is a SQLite or MySQL/MariaDB database target. Create it with
// [New].
type Target struct {
	id          string
	db          *sql.DB
	markerTable string
	dialect     dialect

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

// Dialect names the SQL a target speaks, for [WithDialect].
type Dialect string

// The dialects the target serves.
const (
	SQLite Dialect = "sqlite"
	MySQL  Dialect = "mysql" // MySQL and MariaDB
)

// WithDialect sets the database's dialect instead of deriving it from the
// driver's package, for a driver whose package does not say (one wrapped
// for tracing or metrics).
func WithDialect(d Dialect) Option {
	return func(t *Target) error {
		switch d {
		case SQLite:
			t.dialect = sqliteDialect
		case MySQL:
			t.dialect = mysqlDialect
		default:
			return fmt.Errorf("sqltarget: WithDialect(%q): the target speaks %q or %q", d, SQLite, MySQL)
		}
		return nil
	}
}

// New returns a target with the given id over db, a SQLite database
// (ideally opened with sqlite.OpenDB from audit/sqlite) or a MySQL or
// MariaDB database opened with github.com/go-sql-driver/mysql. The dialect
// is chosen from db's driver package, or set with [WithDialect]; other
// drivers are refused.
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
	t := &Target{id: id, db: db, markerTable: "flamingock_marker"}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, err
		}
	}
	if t.dialect.name == "" {
		d, err := dialectOf(db.Driver())
		if err != nil {
			return nil, fmt.Errorf("sqltarget: target %q: %w (a wrapped driver, such as an instrumented one, can name its database with WithDialect)", id, err)
		}
		t.dialect = d
	}
	return t, nil
}

// ID implements [targets.Target].
func (t *Target) ID() string { return t.id }

// Provide gives non-transactional changes the *sql.DB, and SQL-file
// changes an [sqlscript.Execer] over it.
func (t *Target) Provide(d *targets.Deps) {
	targets.Provide(d, t.db)
	targets.Provide[sqlscript.Execer](d, execer{t.db, t.dialect.script})
}

// TxTypes reports that transactional changes receive a *sql.Tx.
func (t *Target) TxTypes() []reflect.Type {
	return []reflect.Type{flamingock.TypeOf[*sql.Tx](), flamingock.TypeOf[sqlscript.Execer]()}
}

// sharedStore is what an audit store offers to write inside this target's
// transactions; audit/sqlite and audit/mysql implement it.
type sharedStore interface {
	DB() *sql.DB
	AppendTx(ctx context.Context, tx *sql.Tx, e audit.Entry) (audit.Entry, error)
}

// SharedAudit returns an appender when store keeps its trail in the same
// *sql.DB as the target.
func (t *Target) SharedAudit(store audit.Store) (targets.TxAppender, bool) {
	s, ok := store.(sharedStore)
	if !ok || s.DB() != t.db {
		return nil, false
	}
	return func(ctx context.Context, tx targets.Tx, e audit.Entry) (audit.Entry, error) {
		x, ok := tx.(interface{ SQLTx() *sql.Tx })
		if !ok {
			return audit.Entry{}, fmt.Errorf("sqltarget: shared audit append: transaction %T is not one of this target's", tx)
		}
		if err := t.dialect.checkOpen(ctx, x.SQLTx(), e.ChangeID); err != nil {
			return audit.Entry{}, err
		}
		return s.AppendTx(ctx, x.SQLTx(), e)
	}, true
}

// Begin starts a transaction, creating the marker table first if needed.
func (t *Target) Begin(ctx context.Context) (targets.Tx, error) {
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
	_, err := t.db.ExecContext(ctx, t.dialect.createMarker(t.markerTable))
	if err != nil {
		return fmt.Errorf("sqltarget: creating marker table %s: %w", t.markerTable, err)
	}
	t.created = true
	return nil
}

// ReadMarker returns the commit marker of a change.
func (t *Target) ReadMarker(ctx context.Context, changeID string) (targets.Marker, bool, error) {
	// Reading must not write: Plan (a dry run) reads markers too. A marker
	// table that does not exist yet holds no marker.
	var exists int
	err := t.db.QueryRowContext(ctx, t.dialect.markerExists, t.markerTable).Scan(&exists)
	if err != nil {
		return targets.Marker{}, false, fmt.Errorf("sqltarget: looking up marker table %s: %w", t.markerTable, err)
	}
	if exists == 0 {
		return targets.Marker{}, false, nil
	}
	return readMarker(ctx, t.db, t.markerTable, changeID)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readMarker(ctx context.Context, q queryer, table, changeID string) (targets.Marker, bool, error) {
	m := targets.Marker{ChangeID: changeID}
	err := q.QueryRowContext(ctx, `SELECT run_id, token FROM `+table+` WHERE change_id = ?`, changeID).Scan(&m.RunID, &m.Token)
	if errors.Is(err, sql.ErrNoRows) {
		return targets.Marker{}, false, nil
	}
	if err != nil {
		return targets.Marker{}, false, fmt.Errorf("sqltarget: reading marker of %q: %w", changeID, err)
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
func (x *Tx) Provide(d *targets.Deps) {
	targets.Provide(d, x.tx)
	targets.Provide[sqlscript.Execer](d, execer{x.tx, x.t.dialect.script})
}

// WriteMarker upserts the change's marker unless a marker at or above since
// exists, in which case another attempt committed the change.
//
// On MySQL it first checks that the change's transaction is still open,
// and otherwise fails with an [ImplicitCommitError] and writes no marker:
// the transaction ended before the change returned, most likely committed
// by DDL, but a deadlock rolls a transaction back too, and a marker written
// now would claim a commit nobody can prove.
func (x *Tx) WriteMarker(ctx context.Context, m targets.Marker, since int64) error {
	if err := x.t.dialect.checkOpen(ctx, x.tx, m.ChangeID); err != nil {
		return err
	}
	return x.upsertMarker(ctx, m, since)
}

func (x *Tx) upsertMarker(ctx context.Context, m targets.Marker, since int64) error {
	args := []any{m.ChangeID, m.RunID, m.Token}
	for range x.t.dialect.sinceParams {
		args = append(args, since)
	}
	res, err := x.tx.ExecContext(ctx, x.t.dialect.upsertMarker(x.t.markerTable), args...)
	if err != nil {
		return fmt.Errorf("sqltarget: writing marker of %q: %w", m.ChangeID, err)
	}
	if n, err := res.RowsAffected(); err != nil || x.t.dialect.markerWritten(n) {
		return err
	}
	existing, found, err := readMarker(ctx, x.tx, x.t.markerTable, m.ChangeID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("sqltarget: marker of %q was neither written nor found", m.ChangeID)
	}
	if existing == m {
		return nil // MySQL counts an update to the same values as no row
	}
	return &targets.MarkerConflictError{Existing: existing}
}

// BlocksLockTakeover tells the runner whether this transaction keeps other
// processes from taking the audit lock: it is true
// on SQLite (false on MySQL, whose transactions lock rows), where the transaction (begun IMMEDIATE with sqlite.OpenDB's
// settings, or at its first write otherwise) holds the database's only write
// lock until it ends, so no other process can write at all, let alone take
// over an audit lock kept in the same file. The runner then pauses its lease
// heartbeat, whose refresh could only wait for this transaction, and relies
// on the shared-transaction append (audit/sqlite's AppendTx) to renew the
// lease when it records APPLIED.
func (x *Tx) BlocksLockTakeover() bool { return x.t.dialect.blocksDatabase }

// Commit commits the transaction.
func (x *Tx) Commit(context.Context) error { return x.tx.Commit() }

// Rollback rolls the transaction back.
func (x *Tx) Rollback(context.Context) error { return x.tx.Rollback() }

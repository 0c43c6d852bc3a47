package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
	"github.com/flamingock/flamingock-go/targets"
)

// DefaultMarkerTable is the commit-marker table's name unless
// [WithMarkerTable] says otherwise.
const DefaultMarkerTable = "flamingock_marker"

// ddlLockKey serialises flamingock's schema creation in a database; it is
// the same key audit/postgres uses, since both may create the same schema.
const ddlLockKey = 0x666c616d696e676f // "flamingo"

// identifier is what schema and table names must look like; see
// audit/postgres for why names are restricted even though they are quoted.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Target is a PostgreSQL target. Create it with [New].
type Target struct {
	id       string
	pool     *pgxpool.Pool
	schema   string
	table    string
	txOpts   pgx.TxOptions
	marker   string // quoted, qualified marker table
	readSQL  string
	writeSQL string

	// autoCreate: the first marker write creates the table when it is
	// missing. markerReady: the table is known to exist (found, or created
	// by a transaction that committed), so writes skip the check.
	autoCreate  bool
	mu          sync.Mutex
	markerReady bool
}

var _ targets.Transactional = (*Target)(nil)

// Option configures a [Target]. Options check their own arguments; [New]
// returns the first error.
type Option interface {
	apply(*Target) error
}

type optionFunc func(*Target) error

func (f optionFunc) apply(t *Target) error { return f(t) }

// WithSchema puts the marker table in the named schema, created if missing.
// Without it the table name is unqualified and resolves through the
// connection's search_path.
func WithSchema(name string) Option {
	return optionFunc(func(t *Target) error {
		if !identifier.MatchString(name) {
			return fmt.Errorf("postgres target: WithSchema(%q): a schema name must be 1 to 63 letters, digits or underscores, not starting with a digit", name)
		}
		t.schema = name
		return nil
	})
}

// WithMarkerTable names the commit-marker table (default
// [DefaultMarkerTable]).
func WithMarkerTable(name string) Option {
	return optionFunc(func(t *Target) error {
		if !identifier.MatchString(name) {
			return fmt.Errorf("postgres target: WithMarkerTable(%q): a table name must be 1 to 63 letters, digits or underscores, not starting with a digit", name)
		}
		t.table = name
		return nil
	})
}

// WithTxOptions sets the options of the transactions the target begins
// (isolation level, for instance). The default is the server's default,
// normally READ COMMITTED.
func WithTxOptions(o pgx.TxOptions) Option {
	return optionFunc(func(t *Target) error {
		t.txOpts = o
		return nil
	})
}

// WithoutAutoCreate stops the target from looking for its marker table and
// creating it when missing. Without it the target creates the table only
// when a marker is first written (changes under the shared-transaction
// protocol never need it), and only after checking that it is missing, so
// a role that may not run DDL works as soon as the table exists. Create it
// beforehand with the script [Schema] returns.
func WithoutAutoCreate() Option {
	return optionFunc(func(t *Target) error {
		t.autoCreate = false
		return nil
	})
}

// New returns a target with the given id over pool. The pool stays the
// caller's to close.
func New(id string, pool *pgxpool.Pool, opts ...Option) (*Target, error) {
	if id == "" {
		return nil, errors.New("postgres target: target id is empty")
	}
	if pool == nil {
		return nil, fmt.Errorf("postgres target: target %q: pool is nil", id)
	}
	t, err := newTarget(id, opts)
	if err != nil {
		return nil, err
	}
	t.pool = pool
	return t, nil
}

func newTarget(id string, opts []Option) (*Target, error) {
	t := &Target{id: id, table: DefaultMarkerTable, autoCreate: true}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("postgres target: nil Option")
		}
		if err := o.apply(t); err != nil {
			if id == "" {
				return nil, err
			}
			return nil, fmt.Errorf("target %q: %w", id, err)
		}
	}
	if t.schema == "" {
		t.marker = pgx.Identifier{t.table}.Sanitize()
	} else {
		t.marker = pgx.Identifier{t.schema, t.table}.Sanitize()
	}
	t.readSQL = "SELECT run_id, token FROM " + t.marker + " WHERE change_id = $1::text"
	// The upsert replaces only a marker older than the audit entry the
	// caller planned from; a newer one means another attempt committed.
	t.writeSQL = `INSERT INTO ` + t.marker + ` AS m (change_id, run_id, token, written_at)
VALUES ($1::text, $2::text, $3::bigint, clock_timestamp())
ON CONFLICT (change_id) DO UPDATE SET run_id = excluded.run_id, token = excluded.token, written_at = excluded.written_at
WHERE m.token < $4::bigint`
	return t, nil
}

// ID implements [targets.Target].
func (t *Target) ID() string { return t.id }

// Pool returns the pool the target runs changes on.
func (t *Target) Pool() *pgxpool.Pool { return t.pool }

// Provide gives non-transactional changes the *pgxpool.Pool, and SQL-file
// changes an [sqlscript.Execer] over it.
func (t *Target) Provide(d *targets.Deps) {
	targets.Provide(d, t.pool)
	targets.Provide[sqlscript.Execer](d, execer{t.pool})
}

// TxTypes reports that transactional changes receive a pgx.Tx. The
// runner asks for every change it plans, so the list is made once; callers
// must not modify it.
func (t *Target) TxTypes() []reflect.Type { return txTypes }

var txTypes = []reflect.Type{flamingock.TypeOf[pgx.Tx](), flamingock.TypeOf[sqlscript.Execer]()}

// SharedAudit returns an appender that writes audit entries inside the
// target's transactions when store is an audit/postgres store on the same
// *pgxpool.Pool as the target. A store on another pool is treated as
// elsewhere, even if it reaches the same database: the runner then uses
// the commit-marker protocol, which is safe there too, only slower.
//
// The appender validates the entry and queues it on the transaction; the
// fenced append is sent with the COMMIT, in one round trip
// ([postgres.Store.AppendCommit]). So a rejected (fenced) append is
// reported by [Tx.Commit], which then rolls back: the change and its
// entry still commit together or not at all. The entry the appender
// returns has no Seq or CreatedAt yet.
func (t *Target) SharedAudit(store audit.Store) (targets.TxAppender, bool) {
	s, ok := store.(*postgres.Store)
	if !ok || s.Pool() != t.pool {
		return nil, false
	}
	return func(_ context.Context, tx targets.Tx, e audit.Entry) (audit.Entry, error) {
		x, ok := tx.(*Tx)
		switch {
		case !ok || x.t != t:
			return audit.Entry{}, fmt.Errorf("postgres target: target %q: shared audit append given a transaction of another target (%T)", t.id, tx)
		case x.pending != nil:
			return audit.Entry{}, fmt.Errorf("postgres target: target %q: a second audit entry (change %q) for one transaction; only one can ride on its COMMIT", t.id, e.ChangeID)
		}
		if err := e.Validate(); err != nil {
			return audit.Entry{}, err
		}
		x.pending = &pendingAppend{store: s, entry: e}
		return e, nil
	}, true
}

// Begin starts a transaction. It creates nothing: the marker table is
// made, if missing, by the first [Tx.WriteMarker].
func (t *Target) Begin(ctx context.Context) (targets.Tx, error) {
	// The connection is held here rather than through a *pgxpool.Tx so
	// that Commit can finish the transaction with a pipelined statement
	// and give the connection back without a COMMIT of pgx's own.
	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres target: target %q: begin: %w", t.id, err)
	}
	tx, err := conn.BeginTx(ctx, t.txOpts)
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("postgres target: target %q: begin: %w", t.id, err)
	}
	return &Tx{t: t, conn: conn, tx: tx}, nil
}

// ensureMarkerTable makes sure the marker table exists before x writes the
// first marker. It checks first, so a role without the right to create
// tables works once the table is there. A missing table is created inside
// x, right before the change commits: it commits with the first marker
// (or not at all, to be created by the next attempt), without a second
// connection that a small pool might not have, and it holds the DDL lock
// only for the rest of that transaction. The advisory lock serialises
// creators (of the marker table and of the audit tables) across instances.
func (t *Target) ensureMarkerTable(ctx context.Context, x *Tx) error {
	t.mu.Lock()
	ready := t.markerReady || !t.autoCreate
	t.mu.Unlock()
	if ready {
		return nil
	}
	var exists bool
	if err := x.tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", t.marker).Scan(&exists); err != nil {
		return fmt.Errorf("postgres target: target %q: look for the marker table %s: %w", t.id, t.marker, err)
	}
	if !exists {
		stmt := "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(ddlLockKey, 10) + ")"
		if _, err := x.tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("postgres target: target %q: %s: %w", t.id, stmt, err)
		}
		var role string
		var schemaExists bool
		err := x.tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL, current_user, $2::text = '' OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $2::text)",
			t.marker, t.schema).Scan(&exists, &role, &schemaExists)
		if err != nil {
			return fmt.Errorf("postgres target: target %q: look for the marker table %s: %w", t.id, t.marker, err)
		}
		if !exists {
			var ddl []string
			if !schemaExists {
				ddl = append(ddl, t.schemaDDL())
			}
			for _, stmt := range append(ddl, t.tableDDL()) {
				if _, err := x.tx.Exec(ctx, stmt); err != nil {
					return t.createError(stmt, role, err)
				}
			}
			x.createdMarker = true
			return nil
		}
	}
	t.mu.Lock()
	t.markerReady = true
	t.mu.Unlock()
	return nil
}

// createError says which statement failed and, when the role lacks the
// privilege, how to give the target its table.
func (t *Target) createError(stmt, role string, err error) error {
	what := strings.TrimSuffix(strings.TrimSpace(strings.SplitN(stmt, "\n", 2)[0]), " (")
	err = fmt.Errorf("postgres target: target %q: creating the commit-marker table: %s: %w", t.id, what, err)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42501" {
		where := "the database"
		if t.schema != "" {
			where = "schema " + pgx.Identifier{t.schema}.Sanitize()
		}
		return fmt.Errorf("%w\nrole %q may not create it. Have a role that may run the script pgtarget.Schema returns create it beforehand; this role then needs only SELECT, INSERT and UPDATE on %s (WithoutAutoCreate also skips the check for it). Or grant %q CREATE on %s", err, role, t.marker, role, where)
	}
	return err
}

// Schema returns the SQL script (DDL) that creates the marker table, and
// its schema when [WithSchema] names one, for databases where the target
// runs [WithoutAutoCreate]. The statements are idempotent.
func Schema(opts ...Option) (string, error) {
	t, err := newTarget("", opts)
	if err != nil {
		return "", err
	}
	return t.ddl(), nil
}

func (t *Target) ddl() string {
	if t.schema != "" {
		return t.schemaDDL() + ";\n" + t.tableDDL()
	}
	return t.tableDDL()
}

func (t *Target) schemaDDL() string {
	return "CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{t.schema}.Sanitize()
}

func (t *Target) tableDDL() string {
	return `CREATE TABLE IF NOT EXISTS ` + t.marker + ` (
    change_id  text        PRIMARY KEY,
    run_id     text        NOT NULL,
    token      bigint      NOT NULL,
    written_at timestamptz NOT NULL
);
`
}

// ReadMarker returns the commit marker of a change, read outside any
// transaction.
func (t *Target) ReadMarker(ctx context.Context, changeID string) (targets.Marker, bool, error) {
	// Reading must not write: Plan (a dry run) reads markers too. A marker
	// table that does not exist yet holds no marker.
	m, found, err := t.readMarker(ctx, t.pool, changeID)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P01" {
		return targets.Marker{}, false, nil
	}
	return m, found, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (t *Target) readMarker(ctx context.Context, q querier, changeID string) (targets.Marker, bool, error) {
	m := targets.Marker{ChangeID: changeID}
	err := q.QueryRow(ctx, t.readSQL, changeID).Scan(&m.RunID, &m.Token)
	if errors.Is(err, pgx.ErrNoRows) {
		return targets.Marker{}, false, nil
	}
	if err != nil {
		return targets.Marker{}, false, fmt.Errorf("postgres target: target %q: read marker of %q from %s: %w", t.id, changeID, t.marker, err)
	}
	return m, true, nil
}

// Tx is an open transaction on a [Target].
type Tx struct {
	t       *Target
	conn    *pgxpool.Conn // nil once the transaction has ended
	tx      pgx.Tx
	pending *pendingAppend
	// createdMarker: the transaction created the marker table; once it
	// commits, the target knows the table exists.
	createdMarker bool
}

// pendingAppend is an audit entry to append with the COMMIT.
type pendingAppend struct {
	store *postgres.Store
	entry audit.Entry
}

// Provide gives transactional changes the pgx.Tx, and SQL-file changes an
// [sqlscript.Execer] over it.
func (x *Tx) Provide(d *targets.Deps) {
	targets.Provide(d, x.tx)
	targets.Provide[sqlscript.Execer](d, execer{x.tx})
}

// PgxTx returns the underlying pgx transaction.
func (x *Tx) PgxTx() pgx.Tx { return x.tx }

// WriteMarker upserts the change's marker unless a marker with a token at
// or above since exists; then another attempt committed the change and
// WriteMarker returns a *[targets.MarkerConflictError]. A concurrent
// attempt that is writing the same marker makes this call wait for its
// transaction, and then decides against what it committed.
func (x *Tx) WriteMarker(ctx context.Context, m targets.Marker, since int64) error {
	if err := x.t.ensureMarkerTable(ctx, x); err != nil {
		return err
	}
	tag, err := x.tx.Exec(ctx, x.t.writeSQL, m.ChangeID, m.RunID, m.Token, since)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P01" && !x.t.autoCreate {
		return fmt.Errorf("postgres target: target %q: write marker of %q: the commit-marker table %s does not exist and the target runs WithoutAutoCreate: create it with the script pgtarget.Schema returns: %w", x.t.id, m.ChangeID, x.t.marker, err)
	}
	if err != nil {
		return fmt.Errorf("postgres target: target %q: write marker of %q: %w", x.t.id, m.ChangeID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	existing, found, err := x.t.readMarker(ctx, x.tx, m.ChangeID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("postgres target: target %q: marker of %q was neither written nor found", x.t.id, m.ChangeID)
	}
	return &targets.MarkerConflictError{Existing: existing}
}

// Commit commits the transaction, appending first, in the same round trip,
// the audit entry a shared-audit appender queued. If that append is fenced
// or fails, nothing commits: the transaction is rolled back and the error
// (wrapping [audit.ErrFenced] when fenced) returned.
func (x *Tx) Commit(ctx context.Context) error {
	if x.conn == nil {
		return pgx.ErrTxClosed
	}
	if x.pending == nil {
		err := x.tx.Commit(ctx)
		x.release()
		if err == nil && x.createdMarker {
			x.t.mu.Lock()
			x.t.markerReady = true
			x.t.mu.Unlock()
		}
		return err
	}
	_, err := x.pending.store.AppendCommit(ctx, x.conn.Conn(), x.pending.entry)
	if err != nil {
		// The transaction is aborted (or, if nothing reached the server,
		// still open): end it before the connection goes back.
		_ = x.tx.Rollback(context.WithoutCancel(ctx))
	}
	x.release()
	return err
}

// Rollback rolls the transaction back. Rolling back a transaction that
// already ended is not an error, so Rollback can be deferred.
func (x *Tx) Rollback(ctx context.Context) error {
	if x.conn == nil {
		return nil
	}
	err := x.tx.Rollback(ctx)
	x.release()
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

// release gives the connection back to the pool. The pool closes a
// connection left inside a transaction instead of reusing it.
func (x *Tx) release() {
	x.conn.Release()
	x.conn = nil
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
)

// Store is an [audit.Store] kept in PostgreSQL tables. It is safe for
// concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	cfg    config
	q      queries
	closed atomic.Bool
}

// New returns a store on pool, creating its schema and tables unless
// [WithoutAutoCreate] is given. It first checks, read-only and in one round
// trip, that every table is in place; only when something is missing does
// it take one more: the creation script, idempotent and safe when many
// instances start at once, or under WithoutAutoCreate the catalog query
// that names what is missing.
//
// The history is the record and the other tables are derived from it:
// New refuses to create a history beside a latest-state or digest table
// that outlived theirs ([audit.ErrHistoryMissing]), and a latest-state table
// it (re)creates beside a history with entries is rebuilt from it on the
// first read, as is one whose newest history entry is not its change's
// latest state. A lock table it (re)creates starts above every fencing
// token the trail's entries carry.
//
// The pool stays the caller's: [Store.Close] does not close it.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres audit store: New: pool is nil")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, cfg: cfg, q: buildQueries(cfg)}
	pr, err := s.probe(ctx)
	if err != nil {
		return nil, err
	}
	if pr.present && pr.behind {
		// The first read rebuilds the latest states from the history.
		if _, err := s.pool.Exec(ctx, s.q.invalidate); err != nil {
			return nil, fmt.Errorf("postgres audit store: mark %s stale: %w", s.cfg.qualify(s.cfg.digestTable()), err)
		}
	}
	if pr.present && pr.guards == guardTriggers {
		return s, nil
	}
	if !cfg.autoCreate {
		missing, err := s.missingRelations(ctx)
		if err != nil {
			return nil, err
		}
		if len(missing) == 0 { // only guard triggers are missing
			s.cfg.log().Warn("flamingock audit store: the triggers that notice hand edits of the audit tables are missing and auto-create is off; run the script from postgres.Schema to add them",
				"history", s.cfg.qualify(s.cfg.history), "latest", s.cfg.qualify(s.cfg.latest))
			return s, nil
		}
		errs := make([]error, len(missing))
		for i, m := range missing {
			errs[i] = fmt.Errorf("postgres audit store: %s does not exist and auto-create is off (WithoutAutoCreate); create it with the statements from postgres.Schema or drop the option", m)
		}
		return nil, errors.Join(errs...)
	}
	if err := s.createSchema(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// probeResult is what one read-only look at the tables found.
type probeResult struct {
	present bool  // every table and column the store uses exists
	behind  bool  // the newest history entry is not its change's latest state
	guards  int64 // how many of the guard triggers exist
}

// probe checks that every table and column the store uses exists, with a
// statement that names them all: it is planned, so a missing relation,
// column or schema fails it. Run, it checks that the newest history entry
// is its change's latest state (two index lookups) and counts the guard
// triggers in the catalog.
func (s *Store) probe(ctx context.Context) (probeResult, error) {
	var (
		pr     probeResult
		unused [3]*int32
	)
	err := s.pool.QueryRow(ctx, s.q.probe, s.cfg.qualify(s.cfg.history), s.cfg.qualify(s.cfg.latest)).
		Scan(&pr.behind, &pr.guards, &unused[0], &unused[1], &unused[2])
	if err == nil {
		pr.present = true
		return pr, nil
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.Code {
		case "42P01", "42703", "3F000": // undefined_table, undefined_column, invalid_schema_name
			return pr, nil
		}
	}
	return pr, fmt.Errorf("postgres audit store: check tables: %w", err)
}

// createSchema runs the DDL as one multi-statement simple query. The server
// runs such a query as one implicit transaction, so the advisory lock taken
// by its first statement is a transaction lock: it serialises concurrent
// creators and is released when the query ends, leaving no session state
// behind (which matters behind a transaction-pooling proxy).
func (s *Store) createSchema(ctx context.Context) error {
	sql := "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(ddlLockKey, 10) + ");\n" + ddl(s.cfg)
	_, err := s.pool.Exec(ctx, sql)
	if err == nil {
		return nil
	}
	hint := ""
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case pgErr.Code == "42501": // insufficient_privilege
			hint = " (if this role may not run DDL, create the tables with the script from postgres.Schema and pass WithoutAutoCreate)"
		case strings.HasPrefix(pgErr.Message, historyMissingMessage):
			return s.historyMissing()
		}
	}
	return fmt.Errorf("postgres audit store: create tables %s, %s, %s, %s: %w%s",
		s.cfg.qualify(s.cfg.history), s.cfg.qualify(s.cfg.latest), s.cfg.qualify(s.cfg.lock), s.cfg.qualify(s.cfg.digestTable()), err, hint)
}

// historyMissing is the error of a store that finds its history table gone
// beside tables derived from it.
func (s *Store) historyMissing() error {
	return fmt.Errorf("postgres audit store: %w: %s does not exist, but %s or %s does; the store will not start an empty trail over them. "+
		"Restore the history table (with its entries) from a backup; or, to start a new audit trail on purpose (every change will run again), drop %s and %s too",
		audit.ErrHistoryMissing, s.cfg.qualify(s.cfg.history), s.cfg.qualify(s.cfg.latest), s.cfg.qualify(s.cfg.digestTable()),
		s.cfg.qualify(s.cfg.latest), s.cfg.qualify(s.cfg.digestTable()))
}

// missingRelations names the tables (and the latest-state table's digest
// columns) the store needs that do not exist, read from the catalog in one
// round trip, for the error of a store that may not create them.
func (s *Store) missingRelations(ctx context.Context) ([]string, error) {
	tables := []struct{ option, name string }{
		{"WithHistoryTable", s.cfg.qualify(s.cfg.history)},
		{"WithLatestTable", s.cfg.qualify(s.cfg.latest)},
		{"WithLockTable", s.cfg.qualify(s.cfg.lock)},
		{"WithDigestTable", s.cfg.qualify(s.cfg.digestTable())},
	}
	var (
		exist   [4]bool
		columns int64
	)
	err := s.pool.QueryRow(ctx, s.q.check, tables[0].name, tables[1].name, tables[2].name, tables[3].name, digestColumns).
		Scan(&exist[0], &exist[1], &exist[2], &exist[3], &columns)
	if err != nil {
		return nil, fmt.Errorf("postgres audit store: check tables: %w", err)
	}
	if !exist[0] && (exist[1] || exist[3]) {
		return nil, s.historyMissing()
	}
	var missing []string
	for i, t := range tables {
		if !exist[i] {
			missing = append(missing, fmt.Sprintf("table %s (%s)", t.name, t.option))
		}
	}
	if exist[1] && columns != int64(len(digestColumns)) {
		missing = append(missing, fmt.Sprintf("a column of %s among %s (added by this version)", tables[1].name, strings.Join(digestColumns, ", ")))
	}
	return missing, nil
}

// Pool returns the pool the store uses. Targets use it to recognise a store
// that shares their database, so that a change and its audit entry commit
// in one transaction (see [Store.AppendTx]).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Append implements [audit.Store.Append] in one round trip. It returns
// [audit.ErrFenced] when e.Token is not the current, unexpired lease.
func (s *Store) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if s.closed.Load() {
		return audit.Entry{}, audit.ErrClosed
	}
	return s.append(ctx, s.pool, e)
}

// AppendTx appends e inside the caller's transaction tx, with the same
// fenced statement as [Store.Append]: the entry commits or rolls back with
// tx. tx must be a transaction on the database this store's tables live in.
//
// Until tx ends, the lock row stays locked FOR SHARE, so a lease refresh
// waits for tx: append last, and commit right after.
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, e audit.Entry) (audit.Entry, error) {
	if s.closed.Load() {
		return audit.Entry{}, audit.ErrClosed
	}
	if tx == nil {
		return audit.Entry{}, errors.New("postgres audit store: AppendTx: tx is nil")
	}
	return s.append(ctx, tx, e)
}

// AppendCommit appends e, fenced like [Store.Append], and commits the
// transaction open on conn, in one round trip: the two statements are sent
// together (a pgx batch, pipelined), and a rejected append is an error that
// makes the server skip the COMMIT. On success the transaction is
// committed; on error it is not (it is aborted, or still open if nothing was
// sent) and the caller must roll it back.
//
// conn is the connection a pgx.Tx was begun on, taken from a pool the
// caller manages (pgx.Tx.Commit would send a COMMIT of its own): the pgx.Tx
// must not be used afterwards. targets/pgtarget uses it to save a round
// trip per change under the shared-transaction protocol.
func (s *Store) AppendCommit(ctx context.Context, conn *pgx.Conn, e audit.Entry) (audit.Entry, error) {
	if s.closed.Load() {
		return audit.Entry{}, audit.ErrClosed
	}
	if conn == nil {
		return audit.Entry{}, errors.New("postgres audit store: AppendCommit: conn is nil")
	}
	if err := e.Validate(); err != nil {
		return audit.Entry{}, err
	}
	args, err := s.appendArgs(e)
	if err != nil {
		return audit.Entry{}, err
	}
	// The results are read in order rather than through per-query
	// callbacks: the same one round trip, without a closure per query.
	b := &pgx.Batch{}
	b.Queue(s.q.appendStrict, args...)
	b.Queue("COMMIT")
	var (
		upserted bool
		fenced   *int32
	)
	br := conn.SendBatch(ctx, b)
	err = br.QueryRow().Scan(&e.Seq, &e.CreatedAt, &fenced, &upserted)
	if err == nil {
		var tag pgconn.CommandTag
		// A transaction that had already failed answers COMMIT with
		// ROLLBACK, not with an error.
		if tag, err = br.Exec(); err == nil && tag.String() != "COMMIT" {
			err = fmt.Errorf("COMMIT answered %q: the transaction was rolled back", tag.String())
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "22P02" && strings.Contains(pgErr.Message, fencedMessage) {
			return audit.Entry{}, fmt.Errorf("%w (change %q, token %d)", audit.ErrFenced, e.ChangeID, e.Token)
		}
		return audit.Entry{}, fmt.Errorf("postgres audit store: append %s entry for change %q and commit: %w", e.State, e.ChangeID, err)
	}
	if !upserted {
		if err := s.checkSkippedUpsert(ctx, s.pool, e); err != nil {
			return audit.Entry{}, err
		}
	}
	return e, nil
}

// querier is what append needs from a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) append(ctx context.Context, q querier, e audit.Entry) (audit.Entry, error) {
	if err := e.Validate(); err != nil {
		return audit.Entry{}, err
	}
	args, err := s.appendArgs(e)
	if err != nil {
		return audit.Entry{}, err
	}
	var upserted bool
	err = q.QueryRow(ctx, s.q.append, args...).Scan(&e.Seq, &e.CreatedAt, &upserted)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Entry{}, fmt.Errorf("%w (change %q, token %d)", audit.ErrFenced, e.ChangeID, e.Token)
	}
	if err != nil {
		return audit.Entry{}, fmt.Errorf("postgres audit store: append %s entry for change %q: %w", e.State, e.ChangeID, err)
	}
	if !upserted {
		if err := s.checkSkippedUpsert(ctx, q, e); err != nil {
			return audit.Entry{}, err
		}
	}
	return e, nil
}

// checkSkippedUpsert runs when an append's entry went into the history but
// not into the latest states, because the change's latest state has a
// larger seq. That is right after a concurrent append for the same change
// committed a newer entry. It is wrong when the history was replaced under
// the latest states (dropped and re-created, or restored, while this store
// was open), so that its sequence started again below them: every later
// entry would be ignored while its append reported success. Then the
// latest state is no entry of the history: mark the digest unknown, so that
// the next read rebuilds the latest states from the history (with the
// entry just appended) and raises the sequence above them. The entry is in
// the history either way, so the append succeeded.
func (s *Store) checkSkippedUpsert(ctx context.Context, q querier, e audit.Entry) error {
	var orphaned bool
	if err := q.QueryRow(ctx, s.q.orphaned, e.ChangeID).Scan(&orphaned); err != nil {
		return fmt.Errorf("postgres audit store: append %s entry for change %q: check the latest state: %w", e.State, e.ChangeID, err)
	}
	if !orphaned {
		return nil
	}
	var n int64
	if err := q.QueryRow(ctx, s.q.invalidate+" RETURNING 1").Scan(&n); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres audit store: append %s entry for change %q: mark %s stale: %w", e.State, e.ChangeID, s.cfg.qualify(s.cfg.digestTable()), err)
	}
	s.cfg.log().Warn("flamingock audit store: an entry's seq is below its change's latest state, which is no entry of the history: the history was replaced while the store was open; the next read rebuilds the latest states from it",
		"history", s.cfg.qualify(s.cfg.history), "change", e.ChangeID, "seq", e.Seq)
	return nil
}

// appendArgs returns the append statement's parameters: e's values in the
// order of entryColumns, then the lock key, the halves of e's change digest
// and whether e's state counts as applied. It fills one slice of the final
// length (growing a shorter one cost an allocation and a copy per append).
func (s *Store) appendArgs(e audit.Entry) ([]any, error) {
	var metadata *string
	if len(e.Metadata) > 0 {
		b, err := json.Marshal(e.Metadata)
		if err != nil {
			return nil, fmt.Errorf("postgres audit store: entry for %q: metadata: %w", e.ChangeID, err)
		}
		m := string(b)
		metadata = &m
	}
	hi, lo := digestHalves(audit.ChangeDigest(e.ChangeID, e.Checksum))
	return []any{
		e.RunID, e.Stage, e.ChangeID, e.Author, e.Order, string(e.State), e.TargetID,
		string(e.TxStrategy), e.Recovery, e.Checksum, int64(e.Duration), e.Host, int32(e.PID),
		e.ToolVersion, e.Actor, e.Reason, e.Error, metadata, e.Token,
		s.cfg.lockKey, hi, lo, audit.IsAppliedState(e.State),
	}, nil
}

// scanEntry reads a row selected with selectColumns.
func scanEntry(row pgx.CollectableRow) (audit.Entry, error) {
	var (
		e          audit.Entry
		state, txs string
		duration   int64
		pid        int32
		metadata   *string
	)
	err := row.Scan(&e.Seq, &e.CreatedAt, &e.RunID, &e.Stage, &e.ChangeID, &e.Author, &e.Order, &state, &e.TargetID,
		&txs, &e.Recovery, &e.Checksum, &duration, &e.Host, &pid,
		&e.ToolVersion, &e.Actor, &e.Reason, &e.Error, &metadata, &e.Token)
	if err != nil {
		return audit.Entry{}, err
	}
	e.State, e.TxStrategy, e.Duration, e.PID = audit.State(state), audit.TxStrategy(txs), time.Duration(duration), int(pid)
	if metadata != nil {
		// A hand-edited row may hold metadata of another shape: read what
		// it holds and say so, rather than fail every read.
		e.Metadata, e.ReadError = audit.DecodeMetadata([]byte(*metadata))
	}
	return e, nil
}

// Snapshot implements [audit.Store.Snapshot] with one round trip: a batch
// of the digest row's validity and the SELECT of the latest-state table,
// whose cost depends on the number of changes, not on the length of the
// history. When the digest row is missing or marked unknown (the guard
// triggers mark it when the history or the latest states are edited by
// hand), the latest states may not be what the history says: it rebuilds
// them from the history first, as [Store.AppliedDigest] does, so the two
// always agree.
func (s *Store) Snapshot(ctx context.Context) (audit.Snapshot, error) {
	if s.closed.Load() {
		return nil, audit.ErrClosed
	}
	var (
		valid   bool
		entries []audit.Entry
	)
	b := &pgx.Batch{}
	b.Queue(s.q.digestValid, s.cfg.lockKey).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&valid); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read %s: %w", s.cfg.qualify(s.cfg.digestTable()), err)
		}
		return nil
	})
	b.Queue(s.q.snapshot).Query(func(rows pgx.Rows) error {
		var err error
		if entries, err = pgx.CollectRows(rows, scanEntry); err != nil {
			return fmt.Errorf("read latest states from %s: %w", s.cfg.qualify(s.cfg.latest), err)
		}
		return nil
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("postgres audit store: %w", err)
	}
	if !valid {
		if _, err := s.rebuild(ctx); err != nil {
			return nil, err
		}
		rows, _ := s.pool.Query(ctx, s.q.snapshot)
		var err error
		if entries, err = pgx.CollectRows(rows, scanEntry); err != nil {
			return nil, fmt.Errorf("postgres audit store: read latest states from %s: %w", s.cfg.qualify(s.cfg.latest), err)
		}
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
	cond := func(sql string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(sql, len(args)))
	}
	if q.ChangeID != "" {
		cond("change_id = $%d::text", q.ChangeID)
	}
	if q.State != "" {
		cond("state = $%d::text", string(q.State))
	}
	if !q.Since.IsZero() {
		cond("created_at >= $%d::timestamptz", q.Since)
	}
	sql := s.q.history
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY seq"
	if q.Limit > 0 {
		args = append(args, int64(q.Limit))
		sql += fmt.Sprintf(" LIMIT $%d::bigint", len(args))
	}
	rows, _ := s.pool.Query(ctx, sql, args...)
	entries, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("postgres audit store: read history from %s: %w", s.cfg.qualify(s.cfg.history), err)
	}
	return entries, nil
}

// Close marks the store closed; later calls return [audit.ErrClosed]. It
// does not close the pool, which belongs to the caller.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

func TestOptionsRejectBadIdentifiers(t *testing.T) {
	bad := []string{"", "x; DROP TABLE y", `a"b`, "1abc", "a-b", "a b", "ünï", strings.Repeat("a", 64)}
	options := map[string]func(string) postgres.Option{
		"WithSchema":       postgres.WithSchema,
		"WithHistoryTable": postgres.WithHistoryTable,
		"WithLatestTable":  postgres.WithLatestTable,
		"WithLockTable":    postgres.WithLockTable,
		"WithDigestTable":  postgres.WithDigestTable,
	}
	for name, opt := range options {
		for _, b := range bad {
			// Schema validates exactly as New does, without a server.
			_, err := postgres.Schema(opt(b))
			if err == nil {
				t.Errorf("%s(%q) accepted", name, b)
				continue
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s(%q): error %q does not name the option", name, b, err)
			}
		}
		if _, err := postgres.Schema(opt("Good_Name_" + strings.Repeat("x", 53))); err != nil {
			t.Errorf("%s with a 63-character name: %v", name, err)
		}
	}
	if _, err := postgres.Schema(postgres.WithHistoryTable("same"), postgres.WithLatestTable("same")); err == nil {
		t.Error("history and latest tables with the same name accepted")
	}
	if _, err := postgres.Schema(postgres.WithDigestTable("flamingock_lock")); err == nil {
		t.Error("digest and lock tables with the same name accepted")
	}
}

func TestNewRejectsBadOptionsBeforeTouchingTheServer(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	_, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name), postgres.WithHistoryTable("x; DROP TABLE y"))
	if err == nil {
		t.Fatal("New accepted an injected table name")
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema.Name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("New with a bad option created %d tables", n)
	}
}

func TestCustomNamesAreUsedAndQuoted(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name+"_Mixed"),
		postgres.WithHistoryTable("History"), postgres.WithLatestTable("latest_x"), postgres.WithLockTable("Lock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Exec(context.Background(), `DROP SCHEMA "`+schema.Name+`_Mixed" CASCADE`) })
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	rows, _ := pool.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", schema.Name+"_Mixed")
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(names), "[History History_digest Lock latest_x]"; got != want {
		t.Errorf("tables: got %s, want %s", got, want)
	}
}

func TestLongestNamesWork(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	long := func(prefix string) string { return prefix + strings.Repeat("x", 63-len(prefix)) }
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name),
		postgres.WithHistoryTable(long("h")), postgres.WithLatestTable(long("l")), postgres.WithLockTable(long("k")))
	if err != nil {
		t.Fatal(err)
	}
	var tables int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema.Name).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 4 { // history, latest, lock, and the digest table named after the history
		t.Errorf("schema has %d tables, want 4", tables)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	var indexes int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2", schema.Name, long("h")).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 1 { // the primary key
		t.Errorf("history table has %d indexes, want 1", indexes)
	}
}

func TestConcurrentNewOnFreshSchema(t *testing.T) {
	schema := pgtest.New(t)
	ctx := context.Background()
	const n = 8
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = schema.Pool(t)
	}
	// Every instance creates a schema that does not exist yet, so the
	// catalog race (CREATE SCHEMA / CREATE TABLE IF NOT EXISTS) is real.
	fresh := schema.Name + "_fresh"
	t.Cleanup(func() { pools[0].Exec(context.Background(), "DROP SCHEMA IF EXISTS "+fresh+" CASCADE") })
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = postgres.New(ctx, pools[i], postgres.WithSchema(fresh))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}

func TestWithoutAutoCreateUsesTablesFromSchema(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	_, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name), postgres.WithoutAutoCreate())
	if err == nil {
		t.Fatal("New with WithoutAutoCreate succeeded before the tables exist")
	}
	for _, table := range []string{postgres.DefaultHistoryTable, postgres.DefaultLatestTable, postgres.DefaultLockTable, postgres.DefaultHistoryTable + "_digest"} {
		if !strings.Contains(err.Error(), `"`+table+`"`) {
			t.Errorf("error does not name missing table %s: %v", table, err)
		}
	}
	ddl, err := postgres.Schema(postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the script is re-runnable
		if _, err := pool.Exec(ctx, ddl); err != nil {
			t.Fatalf("run DDL: %v\n%s", err, ddl)
		}
	}
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name), postgres.WithoutAutoCreate())
	if err != nil {
		t.Fatalf("New after running the schema script: %v", err)
	}
	if snap, err := s.Snapshot(ctx); err != nil || len(snap) != 0 {
		t.Fatalf("Snapshot after running the schema script: %v, %v", snap, err)
	}
}

func newStore(t testing.TB, configure ...func(*pgxpool.Config)) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool, schema := pgtest.NewPool(t, configure...)
	s, err := postgres.New(context.Background(), pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

func TestAppendTxCommitsAndRollsBackWithTheTransaction(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("rolled-back", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AppendTx(ctx, tx, audittest.SampleEntry("committed", audit.Applied, l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if snap, _ := s.Snapshot(ctx); len(snap) != 0 {
		t.Errorf("entry visible outside the transaction before commit: %v", snap)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap["rolled-back"]; ok {
		t.Error("entry of the rolled-back transaction is in the snapshot")
	}
	if e, ok := snap["committed"]; !ok || e.Seq != got.Seq {
		t.Errorf("committed entry: got %+v (present %v), want seq %d", e, ok, got.Seq)
	}
	h, err := s.History(ctx, audit.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].ChangeID != "committed" {
		t.Errorf("history: got %d entries %v, want only the committed one", len(h), h)
	}
}

func TestAppendTxIsFenced(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	old, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ForceReleaseLock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, old.Token)); !errors.Is(err, audit.ErrFenced) {
		t.Fatalf("AppendTx with a superseded token: got %v, want ErrFenced", err)
	}
}

// TestTakeoverWaitsForAppendInFlight shows why the fence locks the lock row:
// a new holder cannot take the lock between an old holder's fenced append
// and its commit, so the new holder's first snapshot sees that entry.
func TestTakeoverWaitsForAppendInFlight(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	a, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, a.Token)); err != nil {
		t.Fatal(err)
	}

	// An operator frees the lock while the append is uncommitted; another
	// instance tries to take it.
	type result struct {
		lease audit.Lease
		snap  audit.Snapshot
		err   error
	}
	done := make(chan result, 1)
	go func() {
		if err := s.ForceReleaseLock(ctx); err != nil {
			done <- result{err: err}
			return
		}
		b, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute)
		if err != nil {
			done <- result{err: err}
			return
		}
		snap, err := s.Snapshot(ctx)
		done <- result{lease: b, snap: snap, err: err}
	}()

	// Wait, on the server's own view, until the force release is blocked on
	// the lock row held by the open transaction.
	pgtest.WaitBlocked(t, pool, "UPDATE ")
	select {
	case r := <-done:
		t.Fatalf("takeover finished while the append was uncommitted: %+v", r)
	default:
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.lease.Token <= a.Token {
		t.Errorf("new token %d is not above the old %d", r.lease.Token, a.Token)
	}
	if _, ok := r.snap["c1"]; !ok {
		t.Error("the new holder's snapshot misses the entry committed by the old holder")
	}
}

// queryCounter counts the queries and batches a pool sends and, while
// recording, keeps their SQL.
type queryCounter struct {
	n         atomic.Int64
	mu        sync.Mutex
	recording bool
	sent      []string
}

func (c *queryCounter) record(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording, c.sent = on, nil
	if on {
		c.sent = []string{}
	}
}

func (c *queryCounter) sqls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.mu.Lock()
	if c.recording {
		c.sent = append(c.sent, d.SQL)
	}
	c.mu.Unlock()
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A batch is sent as one pipeline: one round trip once its statements are
// prepared (pgx's default mode prepares new ones in a round trip first).
func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func TestSnapshotIsOneQueryWhateverTheHistoryLength(t *testing.T) {
	counter := &queryCounter{}
	s, _ := newStore(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter })
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, appends := range []int{0, 1, 50, 300} {
		for i := range appends {
			e := audittest.SampleEntry(fmt.Sprintf("c%d", i%7), audit.Applied, l.Token)
			if _, err := s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		before := counter.n.Load()
		if _, err := s.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		if got := counter.n.Load() - before; got != 1 {
			t.Errorf("after %d more appends, Snapshot sent %d queries, want 1", appends, got)
		}
	}
}

func TestAppendIsOneQuery(t *testing.T) {
	counter := &queryCounter{}
	s, _ := newStore(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter })
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	before := counter.n.Load()
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	if got := counter.n.Load() - before; got != 1 {
		t.Errorf("Append sent %d queries, want 1", got)
	}
}

// TestNewRunsDDLOnlyWhenSomethingIsMissing checks that New on existing
// tables is one read-only query, and that it creates what is missing,
// including the digest columns of a latest-state table made before them.
func TestNewRunsDDLOnlyWhenSomethingIsMissing(t *testing.T) {
	counter := &queryCounter{}
	pool, schema := pgtest.NewPool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter })
	ctx := context.Background()
	open := func() (sent int64, sqls []string) {
		t.Helper()
		before := counter.n.Load()
		counter.record(true)
		defer counter.record(false)
		if _, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name)); err != nil {
			t.Fatal(err)
		}
		return counter.n.Load() - before, counter.sqls()
	}
	if sent, _ := open(); sent != 2 {
		t.Errorf("New on an empty schema sent %d queries, want 2 (check, create)", sent)
	}
	for range 2 {
		sent, sqls := open()
		if sent != 1 {
			t.Errorf("New on existing tables sent %d queries, want 1", sent)
		}
		for _, q := range sqls {
			if strings.Contains(q, "CREATE") || strings.Contains(q, "ALTER") || strings.Contains(q, "INSERT") {
				t.Errorf("New on existing tables ran %q", q)
			}
		}
	}
	// Take one digest column away, as in a table from before the digest:
	// New puts it back.
	if _, err := pool.Exec(ctx, "ALTER TABLE flamingock_audit_latest DROP COLUMN delta_lo"); err != nil {
		t.Fatal(err)
	}
	if sent, _ := open(); sent != 2 {
		t.Errorf("New with a digest column missing sent %d queries, want 2 (check, create)", sent)
	}
	if sent, _ := open(); sent != 1 {
		t.Errorf("New after the repair sent %d queries, want 1", sent)
	}
}

// TestAppendCommit checks the pipelined append + COMMIT under every query
// exec mode (each sends the batch differently): it commits the transaction
// with the entry, and a fenced append commits nothing.
func TestAppendCommit(t *testing.T) {
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			counter := &queryCounter{}
			s, pool := newStore(t, func(c *pgxpool.Config) {
				c.ConnConfig.DefaultQueryExecMode = mode
				c.ConnConfig.Tracer = counter
			})
			ctx := context.Background()
			if _, err := pool.Exec(ctx, "CREATE TABLE items (id text)"); err != nil {
				t.Fatal(err)
			}
			stale, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ForceReleaseLock(ctx); err != nil {
				t.Fatal(err)
			}
			l, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			attempt := func(id string, token int64) (int64, error) {
				conn, err := pool.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Release()
				tx, err := conn.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(ctx, "INSERT INTO items VALUES ($1)", id); err != nil {
					t.Fatal(err)
				}
				before := counter.n.Load()
				_, err = s.AppendCommit(ctx, conn.Conn(), audittest.SampleEntry(id, audit.Applied, token))
				sent := counter.n.Load() - before
				if err != nil {
					tx.Rollback(ctx)
				}
				if status := conn.Conn().PgConn().TxStatus(); status != 'I' {
					t.Errorf("%s: connection left in transaction status %q", id, status)
				}
				return sent, err
			}
			// Twice, so the cached mode runs with a prepared statement too.
			for _, id := range []string{"ok1", "ok2"} {
				sent, err := attempt(id, l.Token)
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				if sent != 1 {
					t.Errorf("%s: AppendCommit sent %d queries or batches, want 1", id, sent)
				}
			}
			if _, err := attempt("fenced", stale.Token); !errors.Is(err, audit.ErrFenced) {
				t.Fatalf("stale token: got %v, want ErrFenced", err)
			}

			snap, err := s.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := pool.Query(ctx, "SELECT id FROM items ORDER BY id")
			items, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(items) != "[ok1 ok2]" || len(snap) != 2 || snap["ok1"].Seq == 0 || snap["ok2"].Seq == 0 {
				t.Errorf("committed: items %v, snapshot %v; want ok1 and ok2 in both", items, snap)
			}
		})
	}
}

func TestAppendCommitOnAFailedTransactionCommitsNothing(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("division by zero succeeded")
	}
	if _, err := s.AppendCommit(ctx, conn.Conn(), audittest.SampleEntry("c1", audit.Applied, l.Token)); err == nil {
		t.Fatal("AppendCommit on an aborted transaction succeeded")
	}
	tx.Rollback(ctx)
	if snap, _ := s.Snapshot(ctx); len(snap) != 0 {
		t.Errorf("snapshot after a failed AppendCommit: %v", snap)
	}
}

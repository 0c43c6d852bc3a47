package pgtarget_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/memory"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

func newTarget(t *testing.T, opts ...pgtarget.Option) (*pgtarget.Target, *pgxpool.Pool, pgtest.Schema) {
	t.Helper()
	pool, schema := pgtest.NewPool(t)
	tg, err := pgtarget.New("db", pool, append([]pgtarget.Option{pgtarget.WithSchema(schema.Name)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tg, pool, schema
}

func TestOptionsRejectBadIdentifiers(t *testing.T) {
	bad := []string{"", "x; DROP TABLE y", `a"b`, "9lives", "a.b", strings.Repeat("m", 64)}
	for _, b := range bad {
		if _, err := pgtarget.Schema(pgtarget.WithSchema(b)); err == nil || !strings.Contains(err.Error(), "WithSchema") {
			t.Errorf("WithSchema(%q): got %v, want an error naming the option", b, err)
		}
		if _, err := pgtarget.Schema(pgtarget.WithMarkerTable(b)); err == nil || !strings.Contains(err.Error(), "WithMarkerTable") {
			t.Errorf("WithMarkerTable(%q): got %v, want an error naming the option", b, err)
		}
	}
	pool, _ := pgtest.NewPool(t)
	if _, err := pgtarget.New("db", pool, pgtarget.WithMarkerTable("m; DROP TABLE x")); err == nil || !strings.Contains(err.Error(), `target "db"`) {
		t.Errorf("New with a bad marker table: got %v, want an error naming the target", err)
	}
	if _, err := pgtarget.New("", pool); err == nil {
		t.Error("New accepted an empty id")
	}
	if _, err := pgtarget.New("db", nil); err == nil {
		t.Error("New accepted a nil pool")
	}
}

func TestProvidesPoolOutsideAndTxInside(t *testing.T) {
	tg, pool, _ := newTarget(t)
	ctx := context.Background()
	deps := targets.NewDeps(nil)
	tg.Provide(deps)
	if got, err := targets.Resolve[*pgxpool.Pool](deps); err != nil || got != pool {
		t.Errorf("outside a transaction: got %v, %v; want the target's pool", got, err)
	}
	if types := tg.TxTypes(); len(types) != 2 || types[0] != flamingock.TypeOf[pgx.Tx]() || types[1] != flamingock.TypeOf[sqlscript.Execer]() {
		t.Errorf("TxTypes: got %v, want [pgx.Tx sqlscript.Execer]", types)
	}
	if ex, err := targets.Resolve[sqlscript.Execer](deps); err != nil || ex.Dialect() != sqlscript.PostgreSQL {
		t.Errorf("outside a transaction: Execer %v, %v; want one in PostgreSQL's dialect", ex, err)
	}
	tx, err := tg.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	txDeps := targets.NewDeps(nil)
	tx.Provide(txDeps)
	ptx, err := targets.Resolve[pgx.Tx](txDeps)
	if err != nil {
		t.Fatal(err)
	}
	if ptx != tx.(*pgtarget.Tx).PgxTx() {
		t.Error("the provided pgx.Tx is not the target transaction's")
	}
}

func TestTransactionCommitsAndRollsBack(t *testing.T) {
	tg, pool, _ := newTarget(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE items (name text)"); err != nil {
		t.Fatal(err)
	}
	insert := func(name string, commit bool) {
		tx, err := tg.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.(*pgtarget.Tx).PgxTx().Exec(ctx, "INSERT INTO items VALUES ($1)", name); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Errorf("Rollback after the transaction ended: %v, want nil", err)
		}
	}
	insert("kept", true)
	insert("dropped", false)
	rows, _ := pool.Query(ctx, "SELECT name FROM items")
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "kept" {
		t.Errorf("rows: got %v, want [kept]", names)
	}
}

func writeMarker(t *testing.T, tg *pgtarget.Target, m targets.Marker, since int64, commit bool) error {
	t.Helper()
	ctx := context.Background()
	tx, err := tg.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := tx.WriteMarker(ctx, m, since); err != nil {
		return err
	}
	if commit {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

func readMarker(t *testing.T, tg *pgtarget.Target, id string) (targets.Marker, bool) {
	t.Helper()
	m, ok, err := tg.ReadMarker(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m, ok
}

func TestMarkerWriteReadAndConflict(t *testing.T) {
	tg, _, _ := newTarget(t)

	if _, ok := readMarker(t, tg, "c1"); ok {
		t.Fatal("marker found before any was written")
	}
	// Rolled back: leaves nothing.
	if err := writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r0", Token: 3}, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := readMarker(t, tg, "c1"); ok {
		t.Fatal("marker of a rolled-back transaction is visible")
	}

	first := targets.Marker{ChangeID: "c1", RunID: "r1", Token: 5}
	if err := writeMarker(t, tg, first, 0, true); err != nil {
		t.Fatal(err)
	}
	if m, ok := readMarker(t, tg, "c1"); !ok || m != first {
		t.Fatalf("ReadMarker: got %+v (found %v), want %+v", m, ok, first)
	}

	// The caller planned from an audit entry with token 5: a marker at 5
	// means that attempt (or a later one) committed.
	for _, since := range []int64{4, 5} {
		err := writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r2", Token: 9}, since, true)
		conflict, ok := errors.AsType[*targets.MarkerConflictError](err)
		if !ok {
			t.Fatalf("since %d with marker token 5: got %v, want *MarkerConflictError", since, err)
		}
		if conflict.Existing != first {
			t.Errorf("since %d: conflict reports %+v, want %+v", since, conflict.Existing, first)
		}
	}
	if m, _ := readMarker(t, tg, "c1"); m != first {
		t.Fatalf("a conflicting write changed the marker to %+v", m)
	}

	// Planned from a newer entry (token 6): the old marker is replaced.
	second := targets.Marker{ChangeID: "c1", RunID: "r3", Token: 9}
	if err := writeMarker(t, tg, second, 6, true); err != nil {
		t.Fatal(err)
	}
	if m, _ := readMarker(t, tg, "c1"); m != second {
		t.Errorf("after replacement: got %+v, want %+v", m, second)
	}
	if _, ok := readMarker(t, tg, "c2"); ok {
		t.Error("marker of another change found")
	}
}

// TestConcurrentMarkerWritersOneWins runs two attempts at the same change
// that planned from the same audit entry: the second waits for the first's
// transaction and, once it commits, gets the conflict.
func TestConcurrentMarkerWritersOneWins(t *testing.T) {
	tg, pool, _ := newTarget(t)
	ctx := context.Background()
	// The table exists (a first marker was written), so the second writer
	// waits on the marker row, not on the first writer's table creation.
	if err := writeMarker(t, tg, targets.Marker{ChangeID: "c0", RunID: "r0", Token: 1}, 0, true); err != nil {
		t.Fatal(err)
	}
	txA, err := tg.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(ctx)
	a := targets.Marker{ChangeID: "c1", RunID: "ra", Token: 7}
	if err := txA.WriteMarker(ctx, a, 2); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		txB, err := tg.Begin(ctx)
		if err != nil {
			done <- err
			return
		}
		defer txB.Rollback(ctx)
		done <- txB.WriteMarker(ctx, targets.Marker{ChangeID: "c1", RunID: "rb", Token: 8}, 2)
	}()
	pgtest.WaitBlocked(t, pool, "INSERT INTO")
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	conflict, ok := errors.AsType[*targets.MarkerConflictError](<-done)
	if !ok || conflict.Existing != a {
		t.Fatalf("second writer: got %v, want a conflict with %+v", conflict, a)
	}
}

func TestMarkerTableCreatedByTheFirstMarkerWriteOnly(t *testing.T) {
	tg, pool, schema := newTarget(t, pgtarget.WithMarkerTable("Markers"))
	ctx := context.Background()
	exists := func() bool {
		var ok bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", `"`+schema.Name+`"."Markers"`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists() {
		t.Fatal("New created the marker table")
	}
	// Reads serve Plan, a dry run: they must not create anything.
	if _, found, err := tg.ReadMarker(ctx, "c1"); err != nil || found {
		t.Fatalf("ReadMarker before the table exists: found=%v err=%v", found, err)
	}
	if exists() {
		t.Fatal("ReadMarker created the marker table")
	}
	// A transaction that writes no marker (the shared protocol's) needs
	// no table.
	tx, err := tg.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Fatal("Begin created the marker table")
	}
	// The table is created with the first marker, and with it rolled back.
	if err := writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r", Token: 1}, 0, false); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Fatal("the marker table outlived the rolled-back transaction that created it")
	}
	if err := writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r", Token: 1}, 0, true); err != nil {
		t.Fatal(err)
	}
	if !exists() {
		t.Fatal("the first committed marker write did not create the marker table")
	}
	if m, found := readMarker(t, tg, "c1"); !found || m.RunID != "r" {
		t.Errorf("marker of c1: %+v found=%v", m, found)
	}
}

func TestConcurrentFirstUseOnFreshSchema(t *testing.T) {
	schema := pgtest.New(t)
	pool := schema.Pool(t)
	fresh := schema.Name + "_fresh"
	t.Cleanup(func() { pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+fresh+" CASCADE") })
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		tg, err := pgtarget.New("db", schema.Pool(t), pgtarget.WithSchema(fresh))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			<-start
			ctx := context.Background()
			tx, err := tg.Begin(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			defer tx.Rollback(ctx)
			if err = tx.WriteMarker(ctx, targets.Marker{ChangeID: fmt.Sprint("c", i), RunID: "r", Token: 1}, 0); err == nil {
				err = tx.Commit(ctx)
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	var markers int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+fresh+".flamingock_marker").Scan(&markers); err != nil || markers != n {
		t.Errorf("markers: %d (%v), want %d", markers, err, n)
	}
}

func TestWithoutAutoCreateUsesTableFromSchema(t *testing.T) {
	tg, pool, schema := newTarget(t, pgtarget.WithoutAutoCreate())
	ctx := context.Background()
	if err := writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r", Token: 1}, 0, true); err == nil {
		t.Fatal("writing a marker worked before the table exists: WithoutAutoCreate created it")
	}
	ddl, err := pgtarget.Schema(pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	if err := writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r", Token: 1}, 0, true); err != nil {
		t.Fatal(err)
	}
}

func TestSharedAuditOnlyForAStoreOnTheSamePool(t *testing.T) {
	tg, pool, schema := newTarget(t)
	ctx := context.Background()
	same, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tg.SharedAudit(same); !ok {
		t.Error("store on the target's pool: not shared")
	}
	other, err := postgres.New(ctx, schema.Pool(t), postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tg.SharedAudit(other); ok {
		t.Error("store on another pool: shared")
	}
	if _, ok := tg.SharedAudit(memory.New()); ok {
		t.Error("in-memory store: shared")
	}
}

func TestSharedAuditCommitsRollsBackAndFencesWithTheChange(t *testing.T) {
	tg, pool, schema := newTarget(t)
	ctx := context.Background()
	store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	appendTx, ok := tg.SharedAudit(store)
	if !ok {
		t.Fatal("not shared")
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE items (name text)"); err != nil {
		t.Fatal(err)
	}
	stale, err := store.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.ForceReleaseLock(ctx); err != nil {
		t.Fatal(err)
	}
	lease, err := store.AcquireLock(ctx, audittest.Owner("b"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	run := func(change string, token int64, commit bool) error {
		tx, err := tg.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.(*pgtarget.Tx).PgxTx().Exec(ctx, "INSERT INTO items VALUES ($1)", change); err != nil {
			t.Fatal(err)
		}
		if _, err := appendTx(ctx, tx, audittest.SampleEntry(change, audit.Applied, token)); err != nil {
			return err
		}
		if commit {
			return tx.Commit(ctx)
		}
		return tx.Rollback(ctx)
	}
	if err := run("committed", lease.Token, true); err != nil {
		t.Fatal(err)
	}
	if err := run("rolled-back", lease.Token, false); err != nil {
		t.Fatal(err)
	}
	if err := run("fenced", stale.Token, true); !errors.Is(err, audit.ErrFenced) {
		t.Fatalf("stale token: got %v, want ErrFenced", err)
	}
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d connections still acquired after the transactions ended", n)
	}

	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if _, ok := snap["committed"]; !ok || len(snap) != 1 || rows != 1 {
		t.Errorf("after commit, rollback and fenced attempts: snapshot %v and %d rows, want only the committed change", keys(snap), rows)
	}

	otherTx, err := tg.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer otherTx.Rollback(ctx)
	tg2, err := pgtarget.New("db2", pool)
	if err != nil {
		t.Fatal(err)
	}
	appendTx2, _ := tg2.SharedAudit(store)
	if _, err := appendTx2(ctx, otherTx, audittest.SampleEntry("x", audit.Applied, lease.Token)); err == nil {
		t.Error("appender accepted another target's transaction")
	}
}

func keys(s audit.Snapshot) []string {
	var k []string
	for id := range s {
		k = append(k, id)
	}
	return k
}

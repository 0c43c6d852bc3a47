package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

// wantProtocols is every change of the pipeline, in order, with the
// protocol it must run under: the store shares the target's pool, so
// transactional changes commit with their audit entry; the concurrent
// index build runs outside a transaction.
var wantProtocols = []struct {
	id       string
	protocol audit.TxStrategy
}{
	{"create-products", audit.TxShared},
	{"seed-products", audit.TxShared},
	{"index-product-names", audit.NonTx},
	{"create-orders", audit.TxShared},
	{"add-order-totals", audit.TxShared},
}

// TestRunTwice runs the example twice on an empty schema: the first run
// applies every change, the second finds nothing pending and writes
// nothing.
func TestRunTwice(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()

	var out bytes.Buffer
	rep, err := run(ctx, pool, schema.Name, &out)
	if err != nil {
		t.Fatalf("first run: %v\noutput:\n%s", err, &out)
	}
	if rep.UpToDate {
		t.Fatal("first run on an empty schema reported up to date")
	}
	if len(rep.Changes) != len(wantProtocols) {
		t.Fatalf("first run reported %d changes, want %d", len(rep.Changes), len(wantProtocols))
	}
	for i, want := range wantProtocols {
		got := rep.Changes[i]
		if got.ChangeID != want.id || got.State != audit.Applied || got.Protocol != want.protocol {
			t.Errorf("change %d: %s %s under %s, want %s APPLIED under %s", i, got.ChangeID, got.State, got.Protocol, want.id, want.protocol)
		}
		if !strings.Contains(out.String(), "applied  "+want.id) {
			t.Errorf("first run's output does not list %s as applied:\n%s", want.id, &out)
		}
	}
	if !strings.Contains(out.String(), "Applied 5 change(s); audit trail in schema "+schema.Name) {
		t.Errorf("first run's output lacks its summary:\n%s", &out)
	}
	checkDatabase(t, pool)

	store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	history := func() []audit.Entry {
		t.Helper()
		h, err := store.History(ctx, audit.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := history()
	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range wantProtocols {
		e, ok := snap[want.id]
		if !ok || e.State != audit.Applied || e.TxStrategy != want.protocol || e.Actor != "postgres-example" {
			t.Errorf("audit of %s: %+v, want APPLIED under %s by postgres-example", want.id, e, want.protocol)
		}
	}

	out.Reset()
	rep, err = run(ctx, pool, schema.Name, &out)
	if err != nil {
		t.Fatalf("second run: %v\noutput:\n%s", err, &out)
	}
	if !rep.UpToDate {
		t.Errorf("second run was not up to date: %+v", rep.Changes)
	}
	want := "Everything is up to date: 5 changes applied, nothing pending (audit in schema " + schema.Name + ").\n"
	if out.String() != want {
		t.Errorf("second run printed\n%q\nwant\n%q", out.String(), want)
	}
	if after := history(); len(after) != len(before) {
		t.Errorf("second run wrote %d audit entries, want none", len(after)-len(before))
	}
	checkDatabase(t, pool)
}

// checkDatabase verifies what the changes built: the seeded products, a
// valid name index and the orders table with its NOT NULL total.
func checkDatabase(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	var products int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM products").Scan(&products); err != nil {
		t.Fatal(err)
	}
	if products != 3 {
		t.Errorf("products: %d rows, want the 3 seeded once", products)
	}
	var valid bool
	err := pool.QueryRow(ctx, `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.oid = to_regclass('products_lower_name')`).Scan(&valid)
	if err != nil {
		t.Fatalf("index products_lower_name: %v", err)
	}
	if !valid {
		t.Error("index products_lower_name is invalid")
	}
	var nullable string
	err = pool.QueryRow(ctx, `SELECT is_nullable FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'orders' AND column_name = 'total_cents'`).Scan(&nullable)
	if err != nil {
		t.Fatalf("orders.total_cents: %v", err)
	}
	if nullable != "NO" {
		t.Errorf("orders.total_cents is_nullable = %s, want NO", nullable)
	}
}

// TestConnectAndRun goes through the command's own connection path, twice:
// it sets the search_path from -schema, so the tables land in that schema.
func TestConnectAndRun(t *testing.T) {
	schema := pgtest.New(t)
	ctx := context.Background()
	for range 2 {
		if err := connectAndRun(ctx, schema.URL, schema.Name); err != nil {
			t.Fatal(err)
		}
	}
	// The pool's search_path is the schema alone: the tables are there.
	checkDatabase(t, schema.Pool(t))
}

func TestConnectAndRunRejectsBadSchema(t *testing.T) {
	err := connectAndRun(context.Background(), defaultURL, "bad-name")
	if err == nil || !strings.Contains(err.Error(), `-schema "bad-name"`) {
		t.Fatalf("got %v, want an error naming -schema", err)
	}
}

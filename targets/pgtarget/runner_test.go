package pgtarget_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// txChange is a transactional change on target "db" that inserts its id
// into table items, the way a generated adapter would call a
// func(context.Context, pgx.Tx) error.
func txChange(id, order string, fail bool) flamingock.Change {
	return flamingock.Change{
		ID: id, Order: order, Author: "test", Target: "db", Transactional: true,
		Recovery: flamingock.RecoveryManual, Checksum: "sha256:" + id,
		Needs: []reflect.Type{flamingock.TypeOf[pgx.Tx]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			tx, err := targets.Resolve[pgx.Tx](d)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO items VALUES ($1)", id); err != nil {
				return err
			}
			if fail {
				return errors.New("change failed after writing")
			}
			return nil
		}),
	}
}

// TestRunnerProtocols runs a pipeline through the runtime with the audit
// store on the target's pool (shared transaction) and on another pool
// (commit marker), and checks what the database and the audit hold.
func TestRunnerProtocols(t *testing.T) {
	cases := []struct {
		name       string
		sharedPool bool
		want       audit.TxStrategy
	}{
		{"shared", true, audit.TxShared},
		{"marker", false, audit.TxSeparateWithMarker},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			schema := pgtest.New(t)
			pool := schema.Pool(t)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, "CREATE TABLE items (id text PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			storePool := pool
			if !c.sharedPool {
				storePool = schema.Pool(t)
			}
			store, err := postgres.New(ctx, storePool, postgres.WithSchema(schema.Name))
			if err != nil {
				t.Fatal(err)
			}
			tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
			if err != nil {
				t.Fatal(err)
			}
			run := func(changes ...flamingock.Change) error {
				r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes}),
					flamingock.WithAuditStore(store), flamingock.WithTargets(tg))
				if err != nil {
					t.Fatal(err)
				}
				_, err = r.Run(ctx)
				return err
			}

			if err := run(txChange("a", "1", false), txChange("b", "2", true)); err == nil {
				t.Fatal("run with a failing change succeeded")
			}
			if err := run(txChange("a", "1", false), txChange("b", "2", false)); err != nil {
				t.Fatal(err)
			}
			if err := run(txChange("a", "1", false), txChange("b", "2", false)); err != nil {
				t.Fatal(err)
			}

			var items int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&items); err != nil {
				t.Fatal(err)
			}
			if items != 2 {
				t.Errorf("items: got %d rows, want 2 (each change applied once, the failed attempt rolled back)", items)
			}
			snap, err := store.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"a", "b"} {
				if e := snap[id]; e.State != audit.Applied || e.TxStrategy != c.want {
					t.Errorf("%s: latest %s under %s, want APPLIED under %s", id, e.State, e.TxStrategy, c.want)
				}
			}
			// The shared protocol needs no marker, nor its table.
			n := markerCount(t, pool, schema.Name)
			if c.sharedPool && n != -1 {
				t.Errorf("the shared protocol created the marker table (%d markers)", n)
			}
			if !c.sharedPool && n <= 0 {
				t.Errorf("markers written under the marker protocol: %d, want some", n)
			}
		})
	}
}

func markerCount(t *testing.T, pool *pgxpool.Pool, schema string) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{schema, pgtarget.DefaultMarkerTable}.Sanitize()).Scan(&n)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P01" {
		return -1 // no marker table
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

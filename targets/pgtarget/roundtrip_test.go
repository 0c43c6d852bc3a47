package pgtarget_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// queryCounter counts the queries and batches a pool sends (each is one
// round trip: pgx sends it and waits for its results).
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
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

// TestRoundTripsPerChange counts what one trivial transactional change
// costs on the database beyond the change's own statement, per protocol,
// and what a run with everything applied costs.
func TestRoundTripsPerChange(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			counter := &queryCounter{}
			schema := pgtest.New(t)
			traced := func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter }
			pool := schema.Pool(t, traced)
			storePool := pool
			if !shared {
				storePool = schema.Pool(t, traced)
			}
			ctx := context.Background()
			if _, err := pool.Exec(ctx, "CREATE TABLE items (id text PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			store, err := postgres.New(ctx, storePool, postgres.WithSchema(schema.Name))
			if err != nil {
				t.Fatal(err)
			}
			tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
			if err != nil {
				t.Fatal(err)
			}
			var changes []flamingock.Change
			run := func() int64 {
				r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes}),
					flamingock.WithAuditStore(store), flamingock.WithTargets(tg),
					// A long lease keeps heartbeats out of the count.
					flamingock.WithLockTTL(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				before := counter.n.Load()
				if _, err := r.Run(ctx); err != nil {
					t.Fatal(err)
				}
				return counter.n.Load() - before
			}
			// Warm up: the marker table is created on the target's first use.
			changes = append(changes, txChange("warm", "0", false))
			run()
			changes = append(changes, txChange("one", "1", false))
			one := run()
			for i := range 10 {
				changes = append(changes, txChange(fmt.Sprintf("more%d", i), fmt.Sprint(2+i), false))
			}
			ten := run() // ten pending
			// The run's fixed cost cancels out: (fixed + 10 c) - (fixed + c).
			perChange := float64(ten-one) / 9
			upToDate := run()
			t.Logf("round trips per change, including its one INSERT: %.1f; run with 1 pending: %d; with nothing pending: %d", perChange, one, upToDate)
			want := 3.0 // BEGIN, INSERT, APPLIED pipelined with COMMIT
			if !shared {
				want = 6 // STARTED, BEGIN, INSERT, marker, COMMIT, APPLIED
			}
			if perChange > want {
				t.Errorf("round trips per change: %.1f, want %.0f", perChange, want)
			}
			if upToDate != 1 {
				t.Errorf("run with nothing pending: %d round trips, want 1", upToDate)
			}
		})
	}
}

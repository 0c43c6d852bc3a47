package pgtarget_test

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// Budgets the CI holds for the shared-transaction protocol on PostgreSQL
// (issue 17). Both are counts, not times: they do not move with the
// machine's load, so a regression fails the build and noise never does.
const (
	// maxPGAllocsPerChange bounds the process's heap allocations per
	// applied change, the change's own INSERT through pgx included (82.8
	// measured; 93.7 before the allocations cut in the same commit
	// series). The bench (bench/, go run .) puts goose at about 55 per
	// change for the same work.
	maxPGAllocsPerChange = 85
	// maxReusedPoolStartRoundTrips bounds a start with nothing pending on
	// a pool already in use: postgres.New's table check, then Run's
	// digest read.
	maxReusedPoolStartRoundTrips = 2
)

// TestSharedProtocolCost checks, on a real server, the allocations per
// change of a shared-transaction run and the round trips of a start with
// nothing pending on a reused pool, as an application that builds its
// store and runner again pays them. (Round trips per change are held by
// TestRoundTripsPerChange.)
func TestSharedProtocolCost(t *testing.T) {
	counter := &queryCounter{}
	schema := pgtest.New(t)
	pool := schema.Pool(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter })
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE items (id text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	var changes []flamingock.Change
	// start does what an application does at each start on its pool:
	// build the store, the target and the runner, then Run.
	start := func() *flamingock.Report {
		t.Helper()
		store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
		if err != nil {
			t.Fatal(err)
		}
		tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes}),
			flamingock.WithAuditStore(store), flamingock.WithTargets(tg),
			flamingock.WithLogger(slog.New(slog.DiscardHandler)),
			flamingock.WithLockTTL(time.Hour)) // no heartbeat in the counts
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	mallocs := func(f func()) uint64 {
		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		f()
		goruntime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	add := func(n int) {
		for range n {
			i := len(changes)
			changes = append(changes, txChange(fmt.Sprintf("c%04d", i), fmt.Sprintf("%04d", i), false))
		}
	}

	// Warm up: the first run creates the tables and prepares statements
	// on the pool's connection.
	add(1)
	start()
	add(5)
	few := mallocs(func() { start() })
	add(45)
	many := mallocs(func() { start() })
	perChange := float64(int64(many)-int64(few)) / 40 // fixed costs cancel: (F + 45c) - (F + 5c)
	t.Logf("allocations per shared-protocol change: %.1f (runs with 5 and 45 pending: %d and %d)", perChange, few, many)
	if perChange > maxPGAllocsPerChange {
		t.Errorf("allocations per change: %.1f, want at most %d", perChange, maxPGAllocsPerChange)
	}

	before := counter.n.Load()
	if rep := start(); !rep.UpToDate {
		t.Fatal("a start with every change applied was not up to date")
	}
	trips := counter.n.Load() - before
	t.Logf("round trips of a start with nothing pending on a reused pool: %d", trips)
	if trips > maxReusedPoolStartRoundTrips {
		t.Errorf("start with nothing pending: %d round trips, want at most %d", trips, maxReusedPoolStartRoundTrips)
	}
}

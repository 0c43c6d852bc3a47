package pgtarget_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// An acquisition that waits on the lock row for longer than the lease gets
// a lease the store dated from before the wait: it is over when it
// arrives. With no lock wait left the run says it lost the lock (not
// "context canceled" from whatever it did next); with time left it hands
// the lease back and acquires again.
func TestSlowAcquisitionLosesTheLockOrRetries(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
	}{{"no wait left", 0}, {"wait left", 30 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			schema := pgtest.New(t)
			pool := schema.Pool(t)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, "CREATE TABLE items (id text PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
			if err != nil {
				t.Fatal(err)
			}
			tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
			if err != nil {
				t.Fatal(err)
			}
			// The lock row exists once the lock was taken and released.
			l, err := store.AcquireLock(ctx, audit.Owner{Host: "h", PID: 1, RunID: "first"}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.ReleaseLock(ctx, l); err != nil {
				t.Fatal(err)
			}
			// Another session holds the lock row, as a long shared
			// transaction of a holder does.
			blocker, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer blocker.Rollback(ctx)
			if _, err := blocker.Exec(ctx, "SELECT 1 FROM flamingock_lock FOR UPDATE"); err != nil {
				t.Fatal(err)
			}
			const ttl = 500 * time.Millisecond
			r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{txChange("a", "1", false)}}),
				flamingock.WithAuditStore(store), flamingock.WithTargets(tg), flamingock.WithLockTTL(ttl), flamingock.WithLockWait(tc.wait))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := r.Run(ctx)
				done <- err
			}()
			pgtest.WaitBlocked(t, pool, "WITH now AS")
			// Not synchronisation: the acquisition must take longer than
			// the lease, and only time makes it so.
			time.Sleep(ttl + 100*time.Millisecond)
			if err := blocker.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			err = <-done
			if tc.wait == 0 {
				if !errors.Is(err, flamingock.ErrLeaseLost) || !strings.Contains(err.Error(), "lost the run lock") || strings.Contains(err.Error(), "context canceled") {
					t.Fatalf("run after a slow acquisition: %v, want it to say it lost the run lock", err)
				}
				if _, err := store.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
					t.Errorf("the slow lease was not handed back: LockInfo = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("run with lock wait left: %v, want it to acquire again and apply", err)
			}
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 1 {
				t.Errorf("items: %d rows (%v), want 1", n, err)
			}
		})
	}
}

// The lease is lost while the run reads the audit snapshot under it (the
// audit tables are locked by another session, so the read and every
// refresh wait past the lease). The run's error says it lost the run lock,
// not that a read was cancelled.
func TestLeaseLostDuringTheSnapshotReadSaysSo(t *testing.T) {
	schema := pgtest.New(t)
	pool := schema.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE items (id text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	admin := schema.Pool(t)
	blocker, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx)
	// Once the run holds the lock, another session locks the latest-state
	// and lock tables: the snapshot read and the heartbeat's refreshes wait.
	lockTables := func(e flamingock.Event) {
		if _, ok := e.(flamingock.LockAcquired); !ok {
			return
		}
		if _, err := blocker.Exec(ctx, "LOCK TABLE flamingock_audit_latest, flamingock_lock IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Error(err)
		}
	}
	r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{txChange("a", "1", false)}}),
		flamingock.WithAuditStore(store), flamingock.WithTargets(tg), flamingock.WithLockTTL(300*time.Millisecond),
		flamingock.WithListener(lockTables))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(ctx)
	if !errors.Is(err, flamingock.ErrLeaseLost) || !strings.Contains(err.Error(), "lost the run lock while reading the audit snapshot") || strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("run whose lease ran out during the snapshot read: %v, want it to say it lost the run lock", err)
	}
}

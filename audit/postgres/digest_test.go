package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

// digestOf computes, from a snapshot, the digest a store must report.
func digestOf(snap audit.Snapshot) audit.AppliedDigest {
	var d audit.AppliedDigest
	for id, e := range snap {
		if audit.IsAppliedState(e.State) {
			d.Add(audit.ChangeDigest(id, e.Checksum))
		}
	}
	return d
}

// checkDigest fails t unless s's digest is the one its snapshot implies.
func checkDigest(t *testing.T, s *postgres.Store, step string) audit.AppliedDigest {
	t.Helper()
	ctx := context.Background()
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	got, err := s.AppliedDigest(ctx)
	if err != nil {
		t.Fatalf("%s: AppliedDigest: %v", step, err)
	}
	if want := digestOf(snap); got != want {
		t.Errorf("%s: AppliedDigest = {%d %x}, the snapshot implies {%d %x}", step, got.Count, got.Sum, want.Count, want.Sum)
	}
	return got
}

func entry(id string, st audit.State, checksum string, token int64) audit.Entry {
	e := audittest.SampleEntry(id, st, token)
	e.Checksum = checksum
	return e
}

// TestAppliedDigestFollowsEveryKindOfAppend runs a mixed sequence through
// the three append paths under each pgx query exec mode, checking the
// digest against the snapshot after every step.
func TestAppliedDigestFollowsEveryKindOfAppend(t *testing.T) {
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			s, pool := newStore(t, func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = mode })
			ctx := context.Background()
			checkDigest(t, s, "empty store")
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
			steps := []struct {
				name string
				e    audit.Entry
			}{
				{"apply c1", entry("c1", audit.Applied, "sha256:1", l.Token)},
				{"start c2", entry("c2", audit.Started, "sha256:2", l.Token)},
				{"fail c2", entry("c2", audit.Failed, "sha256:2", l.Token)},
				{"re-apply c2", entry("c2", audit.Applied, "sha256:2", l.Token)},
				{"apply c2 again", entry("c2", audit.Applied, "sha256:2", l.Token)},
				{"apply c3", entry("c3", audit.Applied, "sha256:3", l.Token)},
				{"roll back c1", entry("c1", audit.RolledBack, "sha256:1", l.Token)},
				{"mark c1 rolled back", entry("c1", audit.ManualMarkedAsRolledBack, "sha256:1", l.Token)},
				{"re-apply c1", entry("c1", audit.Applied, "sha256:1", l.Token)},
				{"c3 fails its rollback", entry("c3", audit.RollbackFailed, "sha256:3", l.Token)},
				{"mark c3 applied", entry("c3", audit.ManualMarkedAsApplied, "sha256:3", l.Token)},
				{"c1 applied with a new checksum", entry("c1", audit.Applied, "sha256:1b", l.Token)},
				{"mark c3 applied with a new checksum", entry("c3", audit.ManualMarkedAsApplied, "sha256:3b", l.Token)},
				{"fail c4", entry("c4", audit.Failed, "sha256:4", l.Token)},
			}
			for _, step := range steps {
				if _, err := s.Append(ctx, step.e); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				checkDigest(t, s, step.name)
			}
			before := checkDigest(t, s, "before the fenced append")
			if _, err := s.Append(ctx, entry("c4", audit.Applied, "sha256:4", stale.Token)); !errors.Is(err, audit.ErrFenced) {
				t.Fatalf("append with a stale token: got %v, want ErrFenced", err)
			}
			if after := checkDigest(t, s, "fenced append"); after != before {
				t.Error("a fenced append changed the digest")
			}

			// AppendTx: rolled back, then committed.
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AppendTx(ctx, tx, entry("c4", audit.Applied, "sha256:4", l.Token)); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if after := checkDigest(t, s, "AppendTx rolled back"); after != before {
				t.Error("a rolled-back AppendTx changed the digest")
			}
			tx, err = pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AppendTx(ctx, tx, entry("c4", audit.Applied, "sha256:4", l.Token)); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			checkDigest(t, s, "AppendTx committed")

			// AppendCommit: committed, then fenced (nothing committed).
			appendCommit := func(e audit.Entry) error {
				conn, err := pool.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Release()
				tx, err := conn.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.AppendCommit(ctx, conn.Conn(), e)
				if err != nil {
					tx.Rollback(ctx)
				}
				return err
			}
			if err := appendCommit(entry("c5", audit.Applied, "sha256:5", l.Token)); err != nil {
				t.Fatal(err)
			}
			afterCommit := checkDigest(t, s, "AppendCommit")
			if err := appendCommit(entry("c5", audit.RolledBack, "sha256:5", stale.Token)); !errors.Is(err, audit.ErrFenced) {
				t.Fatalf("AppendCommit with a stale token: got %v, want ErrFenced", err)
			}
			if got := checkDigest(t, s, "fenced AppendCommit"); got != afterCommit {
				t.Error("a fenced AppendCommit changed the digest")
			}

			// Applied now: c1 (sha256:1b), c2, c3 (sha256:3b), c4, c5.
			var want audit.AppliedDigest
			for _, c := range [][2]string{{"c1", "sha256:1b"}, {"c2", "sha256:2"}, {"c3", "sha256:3b"}, {"c4", "sha256:4"}, {"c5", "sha256:5"}} {
				want.Add(audit.ChangeDigest(c[0], c[1]))
			}
			if afterCommit != want {
				t.Errorf("final digest {%d %x}, want the five applied changes {%d %x}", afterCommit.Count, afterCommit.Sum, want.Count, want.Sum)
			}
		})
	}
}

// TestAppliedDigestUnderConcurrentAppends appends the histories of several
// changes from several goroutines at once; every append serialises on the
// digest row, and none may be lost.
func TestAppliedDigestUnderConcurrentAppends(t *testing.T) {
	s, _ := newStore(t, func(c *pgxpool.Config) { c.MaxConns = 8 })
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	states := []audit.State{audit.Started, audit.Applied, audit.RolledBack, audit.Applied, audit.Failed,
		audit.ManualMarkedAsApplied, audit.Started, audit.Applied}
	const writers, changesPerWriter = 8, 6
	start := make(chan struct{})
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for c := range changesPerWriter {
				id := fmt.Sprintf("w%d-c%d", w, c)
				// Each change ends in a different state of the cycle.
				for _, st := range states[:1+(w+c)%len(states)] {
					if _, err := s.Append(ctx, entry(id, st, "sha256:"+id, l.Token)); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d := checkDigest(t, s, "after concurrent appends")
	if d.Count == 0 || d.Count == writers*changesPerWriter {
		t.Errorf("the test should end with some changes applied and some not; %d of %d applied", d.Count, writers*changesPerWriter)
	}
}

func TestAppliedDigestIsOneQueryWhateverTheNumberOfChanges(t *testing.T) {
	counter := &queryCounter{}
	s, _ := newStore(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = counter })
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, changes := range []int{0, 1, 50, 300} {
		for ; added < changes; added++ {
			if _, err := s.Append(ctx, entry(fmt.Sprintf("c%d", added), audit.Applied, "sha256:x", l.Token)); err != nil {
				t.Fatal(err)
			}
		}
		before := counter.n.Load()
		d, err := s.AppliedDigest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := counter.n.Load() - before; got != 1 {
			t.Errorf("with %d changes, AppliedDigest sent %d queries, want 1", changes, got)
		}
		if d.Count != int64(changes) {
			t.Errorf("with %d changes applied, the digest counts %d", changes, d.Count)
		}
	}
}

// TestAppliedDigestOfTablesFromBefore upgrades tables made before the
// digest existed (no digest table, no digest columns): New adds them, and
// the first AppliedDigest computes what the rows imply.
func TestAppliedDigestOfTablesFromBefore(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []audit.State{audit.Applied, audit.Failed, audit.ManualMarkedAsApplied, audit.Applied} {
		if _, err := s.Append(ctx, entry(fmt.Sprintf("c%d", i), st, fmt.Sprintf("sha256:%d", i), l.Token)); err != nil {
			t.Fatal(err)
		}
	}
	want := checkDigest(t, s, "before the downgrade")
	if _, err := pool.Exec(ctx, `DROP TABLE flamingock_audit_digest;
		ALTER TABLE flamingock_audit_latest DROP COLUMN digest_hi, DROP COLUMN digest_lo,
			DROP COLUMN delta_count, DROP COLUMN delta_hi, DROP COLUMN delta_lo`); err != nil {
		t.Fatal(err)
	}

	s, err = postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if got := checkDigest(t, s, "after the upgrade"); got != want {
		t.Errorf("digest after the upgrade {%d %x}, want {%d %x}", got.Count, got.Sum, want.Count, want.Sum)
	}
	// The rows now carry their digests: appends keep the digest exact,
	// including those that replace a row from before.
	if _, err := s.Append(ctx, entry("c0", audit.RolledBack, "sha256:0", l.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, entry("c4", audit.Applied, "sha256:4", l.Token)); err != nil {
		t.Fatal(err)
	}
	checkDigest(t, s, "appends after the upgrade")
}

// TestAppliedDigestRecoversFromAMissingOrUnknownRow covers a lock key used
// for the first time on tables with entries, and a row whose digest an
// append could not compute (a latest row written without one, by an
// earlier version).
func TestAppliedDigestRecoversFromAMissingOrUnknownRow(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	// A key with a quote and a backslash: the creation script carries it
	// as a literal.
	key := `it's a \ key`
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name), postgres.WithLockKey(key))
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := pool.QueryRow(ctx, "SELECT lock_key FROM flamingock_audit_digest").Scan(&stored); err != nil || stored != key {
		t.Fatalf("digest row key: %q, %v; want %q", stored, err, key)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Append(ctx, entry(fmt.Sprintf("c%d", i), audit.Applied, "sha256:x", l.Token)); err != nil {
			t.Fatal(err)
		}
	}
	want := checkDigest(t, s, "three applied")

	// Another key on the same tables (as after a change of WithLockKey):
	// no row yet, computed on first use.
	other, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name), postgres.WithLockKey("other"))
	if err != nil {
		t.Fatal(err)
	}
	if got := checkDigest(t, other, "new key"); got != want {
		t.Errorf("new key: {%d %x}, want {%d %x}", got.Count, got.Sum, want.Count, want.Sum)
	}

	// A latest row without a digest (written by an earlier version): the
	// next append that replaces it makes the digest unknown, and the next
	// read computes it again.
	if _, err := pool.Exec(ctx, "UPDATE flamingock_audit_latest SET digest_hi = NULL, digest_lo = NULL WHERE change_id = 'c1'"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, entry("c1", audit.RolledBack, "sha256:x", l.Token)); err != nil {
		t.Fatal(err)
	}
	var unknown bool
	if err := pool.QueryRow(ctx, "SELECT sum_hi IS NULL FROM flamingock_audit_digest WHERE lock_key = $1", key).Scan(&unknown); err != nil {
		t.Fatal(err)
	}
	if !unknown {
		t.Error("replacing a row without a digest left the digest known")
	}
	if got := checkDigest(t, s, "after an unknown row"); got.Count != 2 {
		t.Errorf("after rolling c1 back, %d applied, want 2", got.Count)
	}

	// A missing row on a table with entries: appends leave it missing,
	// and the next read computes it.
	if _, err := pool.Exec(ctx, "DELETE FROM flamingock_audit_digest"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, entry("c1", audit.Applied, "sha256:x", l.Token)); err != nil {
		t.Fatal(err)
	}
	if got := checkDigest(t, s, "after a missing row"); got != want {
		t.Errorf("after a missing row: {%d %x}, want {%d %x}", got.Count, got.Sum, want.Count, want.Sum)
	}
}

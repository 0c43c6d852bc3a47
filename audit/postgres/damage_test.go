package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

// TestHistoryRestoredBehindTheLatestStates is bug 1 of issue 12 seen from
// the other side: a history restored from an older backup (fewer rows, its
// identity sequence back where it was) beside newer latest states, written
// with the guard triggers off (as a replica session would), so that only
// the store's own checks can notice. The first append that the "newer seq
// wins" upsert skips finds the latest state it lost to is no entry of the
// history; the store rebuilds the latest states from the restored history,
// says so in the log, and raises the sequence above every seq the latest
// states held.
func TestHistoryRestoredBehindTheLatestStates(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	open := func() *postgres.Store {
		t.Helper()
		s, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name), postgres.WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var last audit.Entry
	for _, id := range []string{"one", "two", "three"} {
		if last, err = s.Append(ctx, entry(id, audit.Applied, "sha256:"+id, l.Token)); err != nil {
			t.Fatal(err)
		}
	}
	// The "backup" held only the first entry: rows after it are gone and
	// the sequence is back at 1.
	if _, err := pool.Exec(ctx, `SET session_replication_role = replica;
		DELETE FROM flamingock_audit WHERE change_id <> 'one';
		ALTER TABLE flamingock_audit ALTER COLUMN seq RESTART WITH 2;
		RESET session_replication_role`); err != nil {
		t.Fatal(err)
	}
	s = open()
	e, err := s.Append(ctx, entry("two", audit.Failed, "sha256:two", l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 2 {
		t.Fatalf("the restored sequence gave seq %d, want 2: the test sets up nothing", e.Seq)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 2 || snap["one"].State != audit.Applied || snap["two"].State != audit.Failed {
		t.Errorf("snapshot after the restore: %v, want one APPLIED and the FAILED of two just appended (the history is the record)", snap)
	}
	if !strings.Contains(logs.String(), "rebuilt the latest states") {
		t.Errorf("the rebuild was not logged; log:\n%s", logs.String())
	}
	checkDigest(t, s, "after the restore")
	next, err := s.Append(ctx, entry("three", audit.Applied, "sha256:three", l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if next.Seq <= last.Seq {
		t.Errorf("entry after the rebuild got seq %d, not above %d which the latest states held", next.Seq, last.Seq)
	}
}

// TestHistoryEmptiedBesideLatestStatesIsRefused: a history table re-created
// empty (by hand, from postgres.Schema) beside latest states must not be
// taken as "nothing ever ran".
func TestHistoryEmptiedBesideLatestStatesIsRefused(t *testing.T) {
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
	if _, err := s.Append(ctx, entry("one", audit.Applied, "sha256:one", l.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "TRUNCATE flamingock_audit"); err != nil {
		t.Fatal(err)
	}
	s, err = postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot(ctx); !errors.Is(err, audit.ErrHistoryMissing) {
		t.Errorf("Snapshot over an emptied history: %v, want ErrHistoryMissing", err)
	}
	if _, err := s.AppliedDigest(ctx); !errors.Is(err, audit.ErrHistoryMissing) {
		t.Errorf("AppliedDigest over an emptied history: %v, want ErrHistoryMissing", err)
	}
}

// TestWithoutAutoCreateRefusesAMissingHistory: the catalog check of a store
// that may not create tables names the problem the same way.
func TestWithoutAutoCreateRefusesAMissingHistory(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "DROP TABLE flamingock_audit"); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name), postgres.WithoutAutoCreate())
	if !errors.Is(err, audit.ErrHistoryMissing) || !strings.Contains(err.Error(), "flamingock_audit") {
		t.Errorf("New without auto-create over a dropped history: %v, want ErrHistoryMissing naming the table", err)
	}
}

// TestHistoryRowInsertedByHand: an operator records a resolution with SQL
// instead of `audit fix`. Inserts fire no guard (the store's own appends
// are inserts), so an open store does not see it, but the next open finds
// the newest seqs of the history and the latest states differ and rebuilds.
func TestHistoryRowInsertedByHand(t *testing.T) {
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
	if _, err := s.Append(ctx, entry("one", audit.Failed, "sha256:one", l.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO flamingock_audit (created_at, run_id, stage, change_id, author, change_order, state, target_id,
		tx_strategy, recovery, checksum, duration_ns, host, pid, tool_version, actor, reason, error, metadata, token)
		SELECT now(), 'by-hand', stage, change_id, author, change_order, 'MANUAL_MARKED_AS_APPLIED', target_id,
		tx_strategy, recovery, checksum, 0, host, pid, tool_version, 'dba', 'fixed by hand', '', NULL, token FROM flamingock_audit`); err != nil {
		t.Fatal(err)
	}
	s, err = postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if got := audittest.Latest(t, s, "one"); got.State != audit.ManualMarkedAsApplied || got.RunID != "by-hand" {
		t.Errorf("latest of one after a hand-inserted resolution and a reopen: %s by %s, want MANUAL_MARKED_AS_APPLIED by-hand", got.State, got.RunID)
	}
	checkDigest(t, s, "after the reopen")
}

// TestHistoryReplacedWhileOpen is bug 1 of issue 12 in a running process:
// the history is replaced under an open store (here renamed away and
// re-created empty, its identity sequence starting again at 1). Appends
// then get seqs below the latest states, whose "newer seq wins" upsert
// skipped them while the append reported success. The store now notices
// that the latest state it lost to is no entry of the history, and the
// next read rebuilds from the history, with the new entries.
func TestHistoryReplacedWhileOpen(t *testing.T) {
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
	var last audit.Entry
	for _, id := range []string{"one", "two", "three"} {
		if last, err = s.Append(ctx, entry(id, audit.Failed, "sha256:"+id, l.Token)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE flamingock_audit RENAME TO flamingock_audit_old;
		CREATE TABLE flamingock_audit (LIKE flamingock_audit_old INCLUDING ALL)`); err != nil {
		t.Fatal(err)
	}
	e, err := s.Append(ctx, entry("three", audit.Applied, "sha256:three", l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq >= last.Seq {
		t.Fatalf("the re-created history's sequence did not start again (seq %d after %d): the test sets up nothing", e.Seq, last.Seq)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 1 || snap["three"].State != audit.Applied {
		t.Errorf("snapshot after the history was replaced and three applied: %v, want three APPLIED alone (the history is the record)", snap)
	}
	checkDigest(t, s, "after the replaced history")
	next, err := s.Append(ctx, entry("one", audit.Applied, "sha256:one", l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if next.Seq <= last.Seq {
		t.Errorf("seq after the rebuild %d, not above the %d the latest states held", next.Seq, last.Seq)
	}
	if got := audittest.Latest(t, s, "one"); got.State != audit.Applied {
		t.Errorf("latest of one %s, want the APPLIED just appended", got.State)
	}
}

// TestOwnWritesKeepTheDigest: the guard that notices a latest-state row no
// history entry is behind must not fire for the store's own appends, which
// insert a row for a new change and move an existing one to a larger seq
// in the statement that writes the history entry. Fired, it would send
// every run's up-to-date check through a rebuild.
func TestOwnWritesKeepTheDigest(t *testing.T) {
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
	checkDigest(t, s, "before the appends")
	for _, e := range []audit.Entry{
		entry("one", audit.Started, "sha256:one", l.Token),
		entry("one", audit.Applied, "sha256:one", l.Token),
		entry("two", audit.Applied, "sha256:two", l.Token),
	} {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		var known bool
		if err := pool.QueryRow(ctx, "SELECT applied_count IS NOT NULL FROM flamingock_audit_digest").Scan(&known); err != nil {
			t.Fatal(err)
		}
		if !known {
			t.Fatalf("the append of %s %s marked the digest unknown: a guard fired for the store's own write", e.ChangeID, e.State)
		}
	}
}

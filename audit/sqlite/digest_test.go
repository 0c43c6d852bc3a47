package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

func digestOf(applied map[string]string) audit.AppliedDigest {
	var d audit.AppliedDigest
	for id, cs := range applied {
		d.Add(audit.ChangeDigest(id, cs))
	}
	return d
}

func wantDigest(t *testing.T, s *sqlite.Store, applied map[string]string, step string) {
	t.Helper()
	got, err := s.AppliedDigest(context.Background())
	if err != nil {
		t.Fatalf("%s: AppliedDigest: %v", step, err)
	}
	if want := digestOf(applied); got != want {
		t.Errorf("%s: digest %+v, want %+v (%v)", step, got, want, applied)
	}
}

func entry(id string, st audit.State, checksum string, token int64) audit.Entry {
	e := audittest.SampleEntry(id, st, token)
	e.Checksum = checksum
	return e
}

// TestDigestFollowsSharedTransactions: the digest row is written in the
// caller's transaction, so it commits and rolls back with the change.
func TestDigestFollowsSharedTransactions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, tempPath(t))
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, commit := range []bool{true, false} {
		tx, err := s.DB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := map[bool]string{true: "committed", false: "rolled-back"}[commit]
		if _, err := s.AppendTx(ctx, tx, entry(id, audit.Applied, "cs", lease.Token)); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wantDigest(t, s, map[string]string{"committed": "cs"}, "after one committed and one rolled-back AppendTx")
}

// TestDigestIsComputedForAnExistingTrail: a database whose digest table or
// row is missing (written by a store from before the digest existed, or
// created from Schema) gets the row computed from the latest-state table
// when a store opens it.
func TestDigestIsComputedForAnExistingTrail(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	s := openStore(t, path)
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Entry{
		entry("a", audit.Applied, "a1", lease.Token),
		entry("b", audit.Failed, "b1", lease.Token),
		entry("c", audit.Applied, "c1", lease.Token),
		entry("c", audit.ManualMarkedAsRolledBack, "c1", lease.Token),
		entry("d", audit.ManualMarkedAsApplied, "d2", lease.Token),
	} {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	applied := map[string]string{"a": "a1", "d": "d2"}
	wantDigest(t, s, applied, "kept by the appends")

	if _, err := s.DB().Exec(`DROP TABLE flamingock_audit_latest_digest`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(ctx, path, sqlite.WithoutAutoCreate()); err == nil ||
		!strings.Contains(err.Error(), `table "flamingock_audit_latest_digest" (WithLatestTable) does not exist`) {
		t.Errorf("open without the digest table and without auto-create: %v, want an error naming the table", err)
	}
	wantDigest(t, openStore(t, path), applied, "table re-created on open")

	if _, err := s.DB().Exec(`DELETE FROM flamingock_audit_latest_digest`); err != nil {
		t.Fatal(err)
	}
	// The row is data the store keeps, so it is written even when the
	// store creates no tables.
	wantDigest(t, openStore(t, path, sqlite.WithoutAutoCreate()), applied, "row re-computed on open without auto-create")
	if _, err := s.DB().Exec(`DELETE FROM flamingock_audit_latest_digest`); err != nil {
		t.Fatal(err)
	}
	// An open store rebuilds it on its next read.
	wantDigest(t, s, applied, "row re-computed by the next read")
	if _, err := s.Append(ctx, entry("b", audit.Applied, "b1", lease.Token)); err != nil {
		t.Fatal(err)
	}
	applied["b"] = "b1"
	wantDigest(t, s, applied, "after an append on the re-computed row")
}

// TestLockTableFromBeforeTTLIsUpgraded: a lock table without ttl_ms gets the
// column on open (or, without auto-create, an error saying how to add it).
func TestLockTableFromBeforeTTLIsUpgraded(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	old := openStore(t, path)
	if _, err := old.DB().Exec(`ALTER TABLE flamingock_lock DROP COLUMN ttl_ms`); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(ctx, path, sqlite.WithoutAutoCreate())
	if err == nil || !strings.Contains(err.Error(), `ALTER TABLE "flamingock_lock" ADD COLUMN ttl_ms`) {
		t.Errorf("open without auto-create on a lock table without ttl_ms: %v", err)
	}
	s := openStore(t, path)
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), audittest.ShortTTL)
	if err != nil {
		t.Fatal(err)
	}
	var ttl int64
	if err := s.DB().QueryRow(`SELECT ttl_ms FROM flamingock_lock`).Scan(&ttl); err != nil || ttl != audittest.ShortTTL.Milliseconds() {
		t.Errorf("ttl_ms %d (%v), want %d", ttl, err, audittest.ShortTTL.Milliseconds())
	}
	if _, err := s.RefreshLock(ctx, lease, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRow(`SELECT ttl_ms FROM flamingock_lock`).Scan(&ttl); err != nil || ttl != time.Minute.Milliseconds() {
		t.Errorf("ttl_ms after refresh %d (%v), want %d", ttl, err, time.Minute.Milliseconds())
	}
}

// openShortBusy opens path with the store's settings but a 100 ms busy
// timeout, so a blocked writer fails with SQLITE_BUSY quickly.
func openShortBusy(t *testing.T, path string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "busy_timeout(100)")
	q.Add("_pragma", "journal_mode(WAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestStoreBesideALongWriteTransaction: while another connection holds the
// write lock (a change in a long shared transaction), a store can still be
// opened on an existing database, read, and its AcquireLock reports a held
// lock rather than a database error, so a runner waits for it.
func TestStoreBesideALongWriteTransaction(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	holder := openStore(t, path)
	lease, err := holder.AcquireLock(ctx, audittest.Owner("holder"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Append(ctx, entry("a", audit.Applied, "a1", lease.Token)); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`CREATE TABLE business (id INTEGER)`); err != nil {
		t.Fatal(err)
	}

	s, err := sqlite.New(ctx, openShortBusy(t, path))
	if err != nil {
		t.Fatalf("New beside a write transaction: %v", err)
	}
	defer s.Close()
	if snap, err := s.Snapshot(ctx); err != nil || len(snap) != 1 {
		t.Errorf("Snapshot beside a write transaction: %v, %v", snap, err)
	}
	wantDigest(t, s, map[string]string{"a": "a1"}, "beside a write transaction")
	_, err = s.AcquireLock(ctx, audittest.Owner("second"), time.Minute)
	if !errors.Is(err, audit.ErrLockHeld) || !strings.Contains(err.Error(), "database is busy") {
		t.Fatalf("AcquireLock beside a write transaction: %v, want ErrLockHeld saying the database is busy", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := holder.ReleaseLock(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLock(ctx, audittest.Owner("second"), time.Minute); err != nil {
		t.Errorf("AcquireLock once the transaction ended: %v", err)
	}
}

package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

func TestOptionsRejectBadIdentifiers(t *testing.T) {
	bad := []string{"", "x; DROP TABLE y", "a`b", "1abc", "a-b", "a b", "ünï", strings.Repeat("a", 65)}
	options := map[string]func(string) mysql.Option{
		"WithHistoryTable": mysql.WithHistoryTable,
		"WithLatestTable":  mysql.WithLatestTable,
		"WithLockTable":    mysql.WithLockTable,
		"WithDigestTable":  mysql.WithDigestTable,
	}
	for name, opt := range options {
		for _, b := range bad {
			_, err := mysql.Schema(opt(b))
			if err == nil {
				t.Errorf("%s(%q) accepted", name, b)
				continue
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s(%q): error %q does not name the option", name, b, err)
			}
		}
	}
	if _, err := mysql.Schema(mysql.WithHistoryTable("Same"), mysql.WithLatestTable("same")); err == nil {
		t.Error("history and latest tables whose names differ only in case accepted")
	}
}

func TestLongestNamesWork(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	long := strings.Repeat("h", 64)
	s, err := mysql.New(ctx, db, mysql.WithHistoryTable(long), mysql.WithLatestTable(strings.Repeat("l", 64)), mysql.WithLockTable(strings.Repeat("k", 64)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	if d, err := s.AppliedDigest(ctx); err != nil || d.Count != 1 {
		t.Fatalf("digest with a derived 64-character digest table name: %+v, %v", d, err)
	}
}

func TestConcurrentNewOnFreshDatabase(t *testing.T) {
	d := mytest.New(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		db := d.DB(t)
		wg.Go(func() {
			_, err := mysql.New(context.Background(), db)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent New: %v", err)
		}
	}
}

func TestWithoutAutoCreate(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	_, err := mysql.New(ctx, db, mysql.WithoutAutoCreate())
	if err == nil {
		t.Fatal("New WithoutAutoCreate on an empty database succeeded")
	}
	for _, want := range []string{"`flamingock_audit` (WithHistoryTable)", "`flamingock_audit_latest` (WithLatestTable)", "`flamingock_lock` (WithLockTable)", "`flamingock_audit_digest` (WithDigestTable)", "mysql.Schema"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	script, err := mysql.Schema()
	if err != nil {
		t.Fatal(err)
	}
	for stmt := range strings.SplitSeq(strings.TrimSuffix(script, ";\n"), ";\n") {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("schema statement %q: %v", stmt, err)
		}
	}
	s, err := mysql.New(ctx, db, mysql.WithoutAutoCreate())
	if err != nil {
		t.Fatalf("New WithoutAutoCreate after running Schema: %v", err)
	}
	if d, err := s.AppliedDigest(ctx); err != nil || d.Count != 0 {
		t.Errorf("digest on tables from Schema: %+v, %v", d, err)
	}
}

func TestAppendRejectsValuesTheColumnsCannotHold(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	s, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	long := audittest.SampleEntry(strings.Repeat("c", 256), audit.Applied, l.Token)
	if _, err := s.Append(ctx, long); err == nil || !strings.Contains(err.Error(), "255") {
		t.Errorf("256-character change id: %v, want an error naming the limit", err)
	}
	badUTF8 := audittest.SampleEntry("c1", audit.Applied, l.Token)
	badUTF8.Error = "bad \xff byte"
	if _, err := s.Append(ctx, badUTF8); err == nil || !strings.Contains(err.Error(), "error is not valid UTF-8") {
		t.Errorf("invalid UTF-8 in error: %v, want an error naming the field", err)
	}
	if h, err := s.History(ctx, audit.HistoryQuery{}); err != nil || len(h) != 0 {
		t.Errorf("rejected entries were written: %d, %v", len(h), err)
	}
}

// appendSome appends an applied, a started and a manually-applied entry
// and returns the digest the store reports afterwards.
func appendSome(t *testing.T, s *mysql.Store) (audit.Snapshot, audit.AppliedDigest) {
	t.Helper()
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []audit.State{audit.Applied, audit.Started, audit.ManualMarkedAsApplied, audit.Failed, audit.Applied} {
		if _, err := s.Append(ctx, audittest.SampleEntry(fmt.Sprintf("c%d", i%3), st, l.Token)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReleaseLock(ctx, l); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.AppliedDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Count != 2 {
		t.Fatalf("digest counts %d applied changes, want 2 (c1 applied, c2 manually)", d.Count)
	}
	return snap, d
}

func TestDroppedLatestTableIsRebuiltFromTheHistory(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	s, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	snap, digest := appendSome(t, s)
	if _, err := db.ExecContext(ctx, "DROP TABLE flamingock_audit_latest"); err != nil {
		t.Fatal(err)
	}
	s2, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatalf("New after the latest-state table was dropped: %v", err)
	}
	got, err := s2.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(snap) {
		t.Fatalf("rebuilt snapshot has %d changes, want %d", len(got), len(snap))
	}
	for id, want := range snap {
		if g := got[id]; g.Seq != want.Seq || g.State != want.State || !g.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("rebuilt %s: seq %d state %s at %v, want seq %d state %s at %v", id, g.Seq, g.State, g.CreatedAt, want.Seq, want.State, want.CreatedAt)
		}
	}
	if d, err := s2.AppliedDigest(ctx); err != nil || d != digest {
		t.Errorf("digest after rebuild: %+v, %v; want %+v", d, err, digest)
	}
	// Appends continue above the old sequence and keep the digest right.
	l, err := s2.AcquireLock(ctx, audittest.Owner("b"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s2.Append(ctx, audittest.SampleEntry("c1", audit.RolledBack, l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq <= snap["c1"].Seq {
		t.Errorf("seq after rebuild %d is not above %d", e.Seq, snap["c1"].Seq)
	}
	if d, err := s2.AppliedDigest(ctx); err != nil || d.Count != 1 {
		t.Errorf("digest after rolling c1 back: %+v, %v; want 1 applied", d, err)
	}
}

func TestDroppedDigestTableIsRecomputed(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	s, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	_, digest := appendSome(t, s)
	if _, err := db.ExecContext(ctx, "DROP TABLE flamingock_audit_digest"); err != nil {
		t.Fatal(err)
	}
	s2, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatalf("New after the digest table was dropped: %v", err)
	}
	if d, err := s2.AppliedDigest(ctx); err != nil || d != digest {
		t.Errorf("recomputed digest: %+v, %v; want %+v", d, err, digest)
	}
}

func TestAppendTxCommitsAndRollsBackWithTheTransaction(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	s, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("commit-%v", commit)
		if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry(id, audit.Applied, l.Token)); err != nil {
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
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, found := snap[id]; found != commit {
			t.Errorf("entry appended in a transaction that committed=%v: found=%v", commit, found)
		}
	}
	if d, err := s.AppliedDigest(ctx); err != nil || d.Count != 1 {
		t.Errorf("digest after one committed and one rolled-back append: %+v, %v", d, err)
	}
	// A stale token is fenced inside a transaction too.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("x", audit.Applied, l.Token+1)); !errors.Is(err, audit.ErrFenced) {
		t.Errorf("AppendTx with a token that is not current: %v, want ErrFenced", err)
	}
}

// TestTakeoverWaitsForAppendInFlight: an append inside an open transaction
// holds the lock row in share mode, so a takeover of the expired lease
// waits until that transaction ends, and the entry it committed is then
// visible to the new holder.
func TestTakeoverWaitsForAppendInFlight(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	s, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	// Force the lease free from another connection: the row update must
	// wait for the share lock the append holds.
	forced := make(chan error, 1)
	go func() { forced <- s.ForceReleaseLock(ctx) }()
	waitBlocked(t, db, "UPDATE `flamingock_lock` SET held = FALSE", forced)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-forced; err != nil {
		t.Fatal(err)
	}
	if snap, err := s.Snapshot(ctx); err != nil || snap["c1"].State != audit.Applied {
		t.Errorf("entry committed before the takeover: %+v, %v", snap["c1"], err)
	}
}

// waitBlocked polls the server's process list until a statement that
// starts with prefix has been running for 100ms: a one-row update by
// primary key that takes that long is waiting for a row lock. (MariaDB does
// not list an autocommit statement's transaction in innodb_trx, so its
// LOCK WAIT state cannot be read there.) done reports the statement's end,
// which must not come first.
func waitBlocked(t *testing.T, db *sql.DB, prefix string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var since time.Time
	for {
		select {
		case err := <-done:
			t.Fatalf("%s... ended (error %v) before the transaction holding its row lock did", prefix, err)
		default:
		}
		var n int
		if err := db.QueryRow("SELECT count(*) FROM information_schema.processlist WHERE info LIKE CONCAT(?, '%')", prefix).Scan(&n); err != nil {
			t.Fatal(err)
		}
		switch {
		case n == 0:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= 100*time.Millisecond:
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no statement starting with %q blocked within 30s", prefix)
		}
		time.Sleep(5 * time.Millisecond) // polling: the server has no notification for this
	}
}

func TestNewRefusesATableWithoutAColumnItNeeds(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	if _, err := mysql.New(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE flamingock_audit_latest DROP COLUMN digest_lo"); err != nil {
		t.Fatal(err)
	}
	if _, err := mysql.New(ctx, db); err == nil || !strings.Contains(err.Error(), "mysql.Schema") {
		t.Errorf("New on a latest-state table without digest_lo: %v, want an error pointing at mysql.Schema", err)
	}
}

func TestLockKeyWithBackslashAndQuote(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	key := `team\'s key`
	s, err := mysql.New(ctx, db, mysql.WithLockKey(key))
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.QueryRowContext(ctx, "SELECT lock_key FROM flamingock_audit_digest").Scan(&stored); err != nil || stored != key {
		t.Fatalf("digest row's key %q (%v), want %q", stored, err, key)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	if d, err := s.AppliedDigest(ctx); err != nil || d.Count != 1 {
		t.Errorf("digest: %+v, %v", d, err)
	}
}

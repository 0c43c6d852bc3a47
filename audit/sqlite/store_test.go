package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

func tempPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "audit.db")
}

// TestConformance runs the suite with every opener call opening a new
// *sql.DB on the same file: each instance is as separate as another process.
func TestConformance(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Opener {
		path := tempPath(t)
		return func() (audit.Store, error) { return sqlite.Open(context.Background(), path) }
	})
}

// TestConformanceSharedDB runs the suite with stores made by New on one
// caller-owned *sql.DB, the way an application shares its database with a
// SQL target.
func TestConformanceSharedDB(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Opener {
		db, err := sqlite.OpenDB(tempPath(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return func() (audit.Store, error) {
			return sqlite.New(context.Background(), db, sqlite.WithHistoryTable("trail"), sqlite.WithLockKey("svc"))
		}
	})
}

func openStore(t *testing.T, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOptionsRejectBadTableNames(t *testing.T) {
	path := tempPath(t)
	long := strings.Repeat("a", 64)
	cases := []struct {
		opt  sqlite.Option
		want string // in the error
	}{
		{sqlite.WithHistoryTable("x; DROP TABLE y"), `WithHistoryTable("x; DROP TABLE y")`},
		{sqlite.WithLatestTable(`a"b`), `WithLatestTable("a\"b")`},
		{sqlite.WithLockTable(""), `WithLockTable("")`},
		{sqlite.WithHistoryTable(long), `WithHistoryTable("` + long + `")`},
		{sqlite.WithHistoryTable("1abc"), `WithHistoryTable("1abc")`},
		{sqlite.WithHistoryTable("a-b"), `WithHistoryTable("a-b")`},
		{sqlite.WithLockTable("sqlite_master"), "reserved"},
		{sqlite.WithLockTable("FLAMINGOCK_AUDIT"), "both name the table"},
		{sqlite.WithLockTable("flamingock_audit_latest_digest"), "WithLatestTable (its digest table)"},
		{sqlite.WithLockKey(""), "WithLockKey"},
		{nil, "nil Option"},
	}
	for _, c := range cases {
		_, err := sqlite.Open(context.Background(), path, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error containing %q, got %v", c.want, err)
		}
		if _, err := sqlite.Schema(c.opt); err == nil {
			t.Errorf("Schema accepted the option that should fail with %q", c.want)
		}
	}
	// Open validated the options before creating the file.
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected Open created %s (stat: %v)", path, err)
	}
	// The longest valid name is accepted.
	openStore(t, path, sqlite.WithHistoryTable(long[:63]), sqlite.WithLatestTable("Select"), sqlite.WithLockTable("_lock"))
}

func TestCustomTableNamesAreUsed(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, sqlite.WithHistoryTable("h"), sqlite.WithLatestTable("l"), sqlite.WithLockTable("k"))
	ctx := context.Background()
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, lease.Token)); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"h": 1, "l": 1, "k": 1, "l_digest": 1} {
		var n int
		if err := s.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != want {
			t.Errorf("table %s: %d rows (%v), want %d", table, n, err, want)
		}
	}
	var n int
	err = s.DB().QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'flamingock%'`).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("default-named objects were created too: %d (%v)", n, err)
	}
}

func TestAutoCreateConcurrentOpens(t *testing.T) {
	path := tempPath(t)
	const opens = 8
	var wg sync.WaitGroup
	errs := make([]error, opens)
	stores := make([]*sqlite.Store, opens)
	start := make(chan struct{})
	for i := 0; i < opens; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = sqlite.Open(context.Background(), path)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	// And again, sequentially, on a database that has data.
	ctx := context.Background()
	lease, err := stores[0].AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].Append(ctx, audittest.SampleEntry("c1", audit.Applied, lease.Token)); err != nil {
		t.Fatal(err)
	}
	again := openStore(t, path)
	if snap, err := again.Snapshot(ctx); err != nil || len(snap) != 1 {
		t.Errorf("snapshot after re-open: %v, %v", snap, err)
	}
	var tables int
	if err := again.DB().QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name LIKE 'flamingock%'`).Scan(&tables); err != nil || tables != 4 {
		t.Errorf("%d flamingock tables (%v), want 4 (history, latest, lock, digest)", tables, err)
	}
}

func TestWithoutAutoCreate(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	_, err := sqlite.Open(ctx, path, sqlite.WithoutAutoCreate(), sqlite.WithLatestTable("latest"))
	if err == nil || !strings.Contains(err.Error(), `table "flamingock_audit" (WithHistoryTable) does not exist`) ||
		!strings.Contains(err.Error(), "WithoutAutoCreate") {
		t.Fatalf("open without tables: got %v, want a clear error naming the missing table", err)
	}

	// After running the schema by hand, the store opens and works.
	ddl, err := sqlite.Schema(sqlite.WithLatestTable("latest"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ddl); err != nil {
		t.Fatalf("running Schema's DDL: %v\n%s", err, ddl)
	}
	s, err := sqlite.New(ctx, db, sqlite.WithoutAutoCreate(), sqlite.WithLatestTable("latest"))
	if err != nil {
		t.Fatalf("New after creating the tables: %v", err)
	}
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, lease.Token)); err != nil {
		t.Fatal(err)
	}
	// Schema creates the digest table; the store wrote its row.
	if d, err := s.AppliedDigest(ctx); err != nil || d.Count != 1 {
		t.Errorf("digest after one applied change on Schema's tables: %+v, %v", d, err)
	}
	// Close does not close a caller's database.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Errorf("New's store closed the caller's database: %v", err)
	}
}

func TestOpenDBRejectsUnusablePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db"} {
		if db, err := sqlite.OpenDB(p); err == nil {
			db.Close()
			t.Errorf("OpenDB(%q) succeeded", p)
		}
	}
	if _, err := sqlite.New(context.Background(), nil); err == nil {
		t.Errorf("New(nil) succeeded")
	}
}

func TestOpenDBSettingsAndAwkwardPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "we?ird #name %20.db")
	db, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var busy, fk int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	if err := db.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 10000 {
		t.Errorf("busy_timeout %d (%v), want 10000", busy, err)
	}
	if err := db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d (%v), want 1", fk, err)
	}
	var file string
	if err := db.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil || file != path {
		t.Errorf("database file %q (%v), want %q", file, err, path)
	}
}

func TestAppendTx(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, tempPath(t))
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	db := s.DB()
	if _, err := db.Exec("CREATE TABLE users (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	// Committed: the business write and the entry appear together.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO users (id) VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	committed, err := s.AppendTx(ctx, tx, audittest.SampleEntry("add-user-1", audit.Applied, lease.Token))
	if err != nil {
		t.Fatal(err)
	}
	if committed.Seq <= 0 || committed.CreatedAt.IsZero() {
		t.Errorf("AppendTx returned seq %d, CreatedAt %v", committed.Seq, committed.CreatedAt)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil || snap["add-user-1"].Seq != committed.Seq {
		t.Fatalf("committed entry not in snapshot: %+v, %v", snap, err)
	}

	// Rolled back: neither appears.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO users (id) VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("add-user-2", audit.Applied, lease.Token)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, audit.HistoryQuery{})
	if err != nil || len(h) != 1 {
		t.Fatalf("history after a rolled-back AppendTx: %d entries (%v), want 1", len(h), err)
	}
	if snap, _ := s.Snapshot(ctx); len(snap) != 1 {
		t.Errorf("rolled-back entry reached the latest-state table: %+v", snap)
	}

	// Fenced: the token is stale, nothing is written, and the caller's
	// transaction is left for it to roll back.
	if err := s.ForceReleaseLock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute); err != nil {
		t.Fatal(err)
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = s.AppendTx(ctx, tx, audittest.SampleEntry("add-user-3", audit.Applied, lease.Token))
	if !errors.Is(err, audit.ErrFenced) {
		t.Fatalf("AppendTx with a stale token: %v, want ErrFenced", err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM flamingock_audit").Scan(&n); err != nil || n != 1 {
		t.Errorf("fenced AppendTx wrote inside the transaction: %d rows (%v)", n, err)
	}
}

// TestAppendTxRenewsAnExpiredLeaseInsideTheTransaction covers a change
// that runs past its lease inside a shared transaction. The transaction
// holds SQLite's write lock, so nobody can take the lock over meanwhile
// (and the holder cannot refresh it): the append at its end is judged by
// the token alone and renews the lease, which is fresh after the commit.
func TestAppendTxRenewsAnExpiredLeaseInsideTheTransaction(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	holder, observer := openStore(t, path), openStore(t, path)
	lease, err := holder.AcquireLock(ctx, audittest.Owner("a"), audittest.ShortTTL)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := holder.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("CREATE TABLE slow_change (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	// WAL lets the observer read the lock while tx holds the write lock.
	waitLease(t, observer, func(i audit.LockInfo) bool { return !i.Valid() })
	if _, err := holder.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, lease.Token)); err != nil {
		t.Fatalf("AppendTx after the lease expired mid-transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	info, err := observer.LockInfo(ctx)
	if err != nil || !info.Valid() || info.Token != lease.Token || info.Owner != lease.Owner {
		t.Fatalf("lease after the commit: %+v, %v; want %+v renewed", info, err, lease)
	}
	if left := info.ExpiresAt.Sub(info.Now); left > audittest.ShortTTL {
		t.Errorf("the renewed lease has %v left, more than the holder's %v", left, audittest.ShortTTL)
	}
	// The holder goes on as usual: its heartbeat refreshes, its own
	// appends pass.
	if _, err := holder.RefreshLock(ctx, lease, time.Minute); err != nil {
		t.Fatalf("RefreshLock after the renewing commit: %v", err)
	}
	if _, err := holder.Append(ctx, audittest.SampleEntry("c2", audit.Applied, lease.Token)); err != nil {
		t.Fatal(err)
	}
}

// TestAppendTxRenewalIsRolledBackWithTheTransaction: the renewal is part of
// the caller's transaction, so a rolled-back change leaves the lease as it
// was, expired.
func TestAppendTxRenewalIsRolledBackWithTheTransaction(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, tempPath(t))
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), audittest.ShortTTL)
	if err != nil {
		t.Fatal(err)
	}
	waitLease(t, s, func(i audit.LockInfo) bool { return !i.Valid() })
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, lease.Token)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if info, err := s.LockInfo(ctx); err != nil || info.Valid() {
		t.Errorf("lease after a rolled-back renewal: %+v, %v; want it still expired", info, err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Failed, lease.Token)); !errors.Is(err, audit.ErrFenced) {
		t.Errorf("Append (own transaction) on the expired lease: %v, want ErrFenced", err)
	}
}

// TestAppendTxFencedAfterRelease: a released lease keeps its token in the
// lock row (so the next one gets a larger token), but it is not a lease any
// more: the token-only check refuses it.
func TestAppendTxFencedAfterRelease(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, tempPath(t))
	for name, release := range map[string]func(audit.Lease) error{
		"ReleaseLock":      func(l audit.Lease) error { return s.ReleaseLock(ctx, l) },
		"ForceReleaseLock": func(audit.Lease) error { return s.ForceReleaseLock(ctx) },
	} {
		lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := release(lease); err != nil {
			t.Fatal(err)
		}
		tx, err := s.DB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, lease.Token)); !errors.Is(err, audit.ErrFenced) {
			t.Errorf("AppendTx after %s: %v, want ErrFenced", name, err)
		}
		tx.Rollback()
		if _, err := s.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
			t.Errorf("after %s and a fenced AppendTx the lock reads %v, want ErrNoLock", name, err)
		}
	}
}

// waitLease polls the store clock through LockInfo until done holds.
func waitLease(t *testing.T, s *sqlite.Store, done func(audit.LockInfo) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := s.LockInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if done(info) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store clock did not reach the awaited point (last %+v)", info)
		}
		time.Sleep(5 * time.Millisecond) // polling the store clock
	}
}

func TestCorruptMetadataIsReported(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, tempPath(t))
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, lease.Token))
	if err != nil {
		t.Fatal(err)
	}
	// Not JSON at all (a TEXT column holds anything): the entry is read
	// with what it holds and a ReadError, and the read goes on.
	if _, err := s.DB().Exec("UPDATE flamingock_audit SET metadata = 'service=orders' WHERE seq = ?", e.Seq); err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, audit.HistoryQuery{})
	if err != nil {
		t.Fatalf("History over corrupt metadata: %v", err)
	}
	if len(h) != 1 || h[0].Metadata != nil || !strings.Contains(h[0].ReadError, "metadata is not a JSON object") || h[0].State != audit.Applied {
		t.Errorf("History over corrupt metadata: %+v", h)
	}
}

func TestAppendTxRejectsTransactionOfAnotherDB(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	s := openStore(t, path)
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.OpenDB(path) // same file, different handle
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, lease.Token)); err == nil {
		t.Fatal("AppendTx accepted a transaction on a different *sql.DB")
	} else {
		t.Log(err)
	}
}

package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

// AcquireLock does not wait for SQLite's write lock: while another
// connection holds it, the lock is reported held at once, and the
// connection the attempt used gets its busy timeout back.
func TestAcquireLockDoesNotWaitForTheWriteLock(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	db, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the connection checked below is the one AcquireLock used
	store, err := sqlite.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	other, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	blocker, err := other.BeginTx(ctx, nil) // _txlock=immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	acquired := make(chan error, 1)
	go func() {
		_, err := store.AcquireLock(ctx, audit.Owner{Host: "h", PID: 1, RunID: "r"}, time.Minute)
		acquired <- err
	}()
	// If AcquireLock waited in SQLite's busy handler, the commit below
	// would let it through and it would succeed; the safety bound only
	// keeps such a failure from hanging the test.
	var aerr error
	select {
	case aerr = <-acquired:
	case <-time.After(2 * time.Second):
		_ = blocker.Commit()
		aerr = <-acquired
	}
	_ = blocker.Rollback()
	if !errors.Is(aerr, audit.ErrLockHeld) {
		t.Fatalf("AcquireLock while another connection writes: %v, want ErrLockHeld at once", aerr)
	}
	var timeout int
	if err := db.QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 10000 {
		t.Errorf("busy_timeout after AcquireLock = %d (%v), want 10000 back", timeout, err)
	}
	if _, err := store.AcquireLock(ctx, audit.Owner{Host: "h", PID: 1, RunID: "r"}, time.Minute); err != nil {
		t.Errorf("AcquireLock once the write lock is free: %v", err)
	}
}

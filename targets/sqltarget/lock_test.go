package sqltarget_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// With WithLockWait(0) a run tries the lock once. While another connection
// holds SQLite's write lock (an instance in a long shared transaction), that
// try fails at once and the run says why, instead of sitting out SQLite's
// busy timeout.
func TestLockWaitZeroDoesNotWaitForABusyDatabase(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	blocker, err := e.targetDB.BeginTx(ctx, nil) // _txlock=immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	r := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil)), flamingock.WithLockWait(0))
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx)
		done <- err
	}()
	// A run that waited in SQLite's busy handler would get through once
	// the blocker commits, and succeed; the safety bound only keeps such a
	// failure from hanging the test.
	select {
	case err = <-done:
	case <-time.After(2 * time.Second):
		_ = blocker.Commit()
		err = <-done
	}
	_ = blocker.Rollback()
	if !errors.Is(err, flamingock.ErrLockTimeout) || !strings.Contains(err.Error(), "the database is busy") {
		t.Fatalf("run with WithLockWait(0) on a busy database: %v, want ErrLockTimeout saying the database is busy", err)
	}
	if n := e.effects(t, "a"); n != 0 {
		t.Errorf("a ran without the lock (%d effects)", n)
	}
}

package sqltarget_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// signalHandler is a slog handler that closes a channel at the first
// record with a given message: the test's signal that the runner reached
// that point.
type signalHandler struct {
	msg  string
	once *sync.Once
	hit  chan struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.hit) })
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// Another connection holds the audit database's write lock when a
// non-transactional change has taken effect: the first try to record
// APPLIED fails with SQLITE_BUSY. The run retries; once the other
// connection lets go, APPLIED is recorded and no issue is left.
func TestAppliedRecordedAfterTheAuditDatabaseWasBusy(t *testing.T) {
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.db")
	// The settings of sqlite.OpenDB, but a busy timeout short enough that
	// the append fails while the write lock is held.
	dsn := "file:" + auditPath + "?_txlock=immediate&_pragma=busy_timeout(50)&_pragma=journal_mode(WAL)"
	auditDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auditDB.Close() })
	ctx := context.Background()
	store, err := sqlite.New(ctx, auditDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := newEnv(t, false) // its target database is another file

	blocker, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blocker.Close() })
	retrying := signalHandler{msg: "recording a change's outcome failed; retrying", once: new(sync.Once), hit: make(chan struct{})}
	released, runDone := make(chan error, 1), make(chan struct{})
	hold := hooks{at: func(step string) {
		if step != "apply-end" {
			return
		}
		conn, err := blocker.Conn(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Error(err)
			return
		}
		go func() {
			select {
			case <-retrying.hit:
			case <-runDone: // it gave up without a retry
			}
			_, err := conn.ExecContext(ctx, "COMMIT")
			conn.Close()
			released <- err
		}()
	}}
	r := e.runner(t, store, stage(dbChange("a", "1", flamingock.RecoveryManual, hold, nil)), flamingock.WithLogger(slog.New(retrying)))
	rep, err := r.Run(ctx)
	close(runDone)
	if rerr := <-released; rerr != nil {
		t.Fatal(rerr)
	}
	select {
	case <-retrying.hit:
	default:
		t.Fatal("the runner never retried: the audit database was not busy when APPLIED was recorded")
	}
	if err != nil {
		t.Fatalf("run: %v, want APPLIED recorded on a retry", err)
	}
	if got := rep.Changes[0].State; got != audit.Applied {
		t.Errorf("a: recorded %s, want APPLIED", got)
	}
	if got := audittest.States(t, store, "a"); got != "STARTED,APPLIED" {
		t.Errorf("history of a = %s, want STARTED,APPLIED", got)
	}
	if n := e.effects(t, "a"); n != 1 {
		t.Errorf("effects of a: %d, want 1", n)
	}
}

package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/memory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// logLines collects the JSON records of a slog logger.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// records returns the records whose message is msg, and resets nothing.
func (l *logLines) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestInfoLogFollowsARun: at Info a run logs each change started and
// finished with run id, stage, target and duration, the run's summary, and
// a run with nothing to do logs one line with the counts and the read.
func TestInfoLogFollowsARun(t *testing.T) {
	store, l := memory.New(), &ledger{}
	var log logLines
	r := newRunner(t, store, l, twoStages(), flamingock.WithLogger(log.logger()))
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	started := log.records(t, "flamingock: change started")
	finished := log.records(t, "flamingock: change finished")
	if len(started) != 3 || len(finished) != 3 {
		t.Fatalf("want 3 started and 3 finished lines:\n%s", &log)
	}
	want := map[string]string{"run_id": rep.RunID, "stage": "two", "change": "c", "target": flamingock.DefaultTargetID, "state": "APPLIED"}
	for k, v := range want {
		if finished[2][k] != v {
			t.Errorf("change finished %s = %v, want %q:\n%s", k, finished[2][k], v, &log)
		}
	}
	if _, ok := finished[2]["duration"]; !ok {
		t.Errorf("change finished has no duration:\n%s", &log)
	}
	if acq := log.records(t, "flamingock: run lock acquired"); len(acq) != 1 || acq[0]["run_id"] != rep.RunID {
		t.Errorf("want one lock-acquired line for run %s:\n%s", rep.RunID, &log)
	}
	sum := log.records(t, "flamingock: run finished")
	if len(sum) != 1 || sum[0]["applied"] != float64(3) || sum[0]["run_id"] != rep.RunID {
		t.Errorf("want one run-finished line with applied=3:\n%s", &log)
	}

	rep, err = r.Run(context.Background())
	if err != nil || !rep.UpToDate {
		t.Fatalf("second run: err=%v upToDate=%v", err, rep.UpToDate)
	}
	up := log.records(t, "flamingock: up to date")
	if len(up) != 1 {
		t.Fatalf("want one up-to-date line:\n%s", &log)
	}
	if up[0]["changes"] != float64(3) || up[0]["stages"] != float64(2) || (up[0]["read"] != "digest" && up[0]["read"] != "snapshot") {
		t.Errorf("up-to-date line should carry the counts and the read: %v", up[0])
	}
	if _, ok := up[0]["read_took"]; !ok {
		t.Errorf("up-to-date line should say how long the read took: %v", up[0])
	}
	if n := len(log.records(t, "flamingock: run finished")); n != 1 {
		t.Errorf("an up-to-date run should log one line, not a summary too (%d summaries):\n%s", n, &log)
	}
}

// TestDefaultLoggerIsSlogDefault: without WithLogger the runner logs to
// slog.Default.
func TestDefaultLoggerIsSlogDefault(t *testing.T) {
	var log logLines
	prev := slog.Default()
	slog.SetDefault(log.logger())
	t.Cleanup(func() { slog.SetDefault(prev) })
	r, err := flamingock.New(twoStages(), flamingock.WithAuditStore(memory.New()), flamingock.WithDependency(&ledger{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(log.records(t, "flamingock: run finished")) != 1 {
		t.Errorf("the default logger should have the run's summary:\n%s", &log)
	}
}

// TestLockWaitingIsReportedAndLogged: a run that finds the lock held sends
// LockWaiting with the holder and logs who holds it until when; it goes on
// once the holder releases (here, from the listener, on that event).
func TestLockWaitingIsReportedAndLogged(t *testing.T) {
	store, l := memory.New(), &ledger{}
	ctx := context.Background()
	holder := audit.Owner{Host: "other-host", PID: 4242, RunID: "holder-run"}
	lease, err := store.AcquireLock(ctx, holder, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var log logLines
	var waiting []flamingock.LockWaiting
	r := newRunner(t, store, l, twoStages(), flamingock.WithLogger(log.logger()),
		flamingock.WithListener(func(e flamingock.Event) {
			if w, ok := e.(flamingock.LockWaiting); ok {
				waiting = append(waiting, w)
				if err := store.ReleaseLock(ctx, lease); err != nil {
					t.Errorf("releasing the holder's lease: %v", err)
				}
			}
		}))
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(waiting) != 1 {
		t.Fatalf("want one LockWaiting event, got %d", len(waiting))
	}
	w := waiting[0]
	if w.Holder != holder || w.RunID != rep.RunID || !w.ExpiresAt.Equal(lease.ExpiresAt) || w.WaitUntil.IsZero() {
		t.Errorf("LockWaiting = %+v, want holder %+v until %v", w, holder, lease.ExpiresAt)
	}
	lines := log.records(t, "flamingock: waiting for the run lock")
	if len(lines) != 1 || lines[0]["holder_host"] != "other-host" || lines[0]["holder_pid"] != float64(4242) || lines[0]["held_until"] == nil {
		t.Errorf("want one waiting line naming the holder and until when:\n%s", &log)
	}
	if len(log.records(t, "flamingock: run lock acquired")) != 1 {
		t.Errorf("want the acquisition logged after the wait:\n%s", &log)
	}
}

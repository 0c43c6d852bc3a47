package sqltarget_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// myPauseChild runs the two-change pipeline with a 1s lease. Inside change
// "one", after its write, it prints "inside" and waits for its context:
// the parent stops the process there (SIGSTOP), lets the lease expire,
// takes over, and resumes it (SIGCONT).
func myPauseChild() int {
	ctx := context.Background()
	e, err := openMyEnv(ctx, crashtest.Param("TARGET_DB"), crashtest.Param("AUDIT_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer e.close()
	var wait func()
	h := hooks{at: func(step string) {
		if step == "apply-end" {
			wait()
		}
	}}
	one := txChange("one", "1", h, nil)
	apply := one.Apply
	one.Apply = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
		wait = func() {
			fmt.Println("inside")
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute): // the parent never resumed us: its assertions fail
			}
		}
		if err := apply.Call(ctx, d); err != nil {
			return err
		}
		return context.Cause(ctx)
	})
	r, err := flamingock.New(stage(one), flamingock.WithAuditStore(e.store), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(time.Second), flamingock.WithLockWait(30*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if _, err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestMySQLPausedHolderIsFencedOut: a lock holder stopped inside a
// transactional change past its lease is taken over by another runner,
// which applies the change; when the first resumes, its transaction is
// rolled back and nothing it records reaches the trail, so the change is
// in the target once.
func TestMySQLPausedHolderIsFencedOut(t *testing.T) {
	for _, protocol := range []string{"shared", "separate"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			params := myChildParams(t, protocol, "manual")
			params["MODE"] = "pause"
			cmd := crashtest.Command("", params)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(stdout)
			if !lines.Scan() || lines.Text() != "inside" {
				cmd.Process.Kill()
				t.Fatalf("child did not reach the change: %q %v\n%s", lines.Text(), cmd.Wait(), stderr.String())
			}
			if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}

			e, err := openMyEnv(context.Background(), params["TARGET_DB"], params["AUDIT_DB"])
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			// The recovery runner waits, by the store's clock, for the
			// stopped child's lease to expire, then takes over.
			if _, err := e.runner(t, stage(txChange("one", "1", hooks{}, nil))).Run(context.Background()); err != nil {
				t.Fatalf("takeover run: %v", err)
			}
			if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err == nil {
				t.Fatalf("the resumed child's run succeeded; want it to fail on its lost lease\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), "lease") && !strings.Contains(stderr.String(), "fencing") {
				t.Errorf("the resumed child failed for another reason than its lost lease: %s", stderr.String())
			}
			if n := e.effects(t, "one"); n != 1 {
				t.Errorf("one applied %d times, want 1\nchild: %s", n, stderr.String())
			}
			if h := e.history(t, "one"); !strings.HasSuffix(h, "APPLIED") || strings.Count(h, "APPLIED") != 1 {
				t.Errorf("history of one = %s: want one APPLIED, last", h)
			}
			for _, entry := range auditHistory(t, e, "one") {
				if entry.PID == cmd.Process.Pid && entry.State != audit.Started {
					t.Errorf("the paused child wrote %s after it lost its lease", entry.State)
				}
			}
		})
	}
}

func auditHistory(t *testing.T, e *myEnv, id string) []audit.Entry {
	t.Helper()
	h, err := e.store.History(context.Background(), audit.HistoryQuery{ChangeID: id})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

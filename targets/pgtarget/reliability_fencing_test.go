package pgtarget_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// relPauseChild runs the two-change pipeline with a 1s lease. At step of
// change "one" it prints "inside" and waits for its context: the parent
// stops the process there (SIGSTOP), lets the lease expire, takes over,
// and resumes it (SIGCONT). The child then reports how its run ended.
func relPauseChild(ctx context.Context, protocol string, recovery flamingock.Recovery, step string) error {
	e, err := relOpenChild(ctx, nil)
	if err != nil {
		return err
	}
	var cause error
	hook := func(ctx context.Context, change, s string, _ relDB) error {
		if change != "one" || s != step {
			return nil
		}
		fmt.Println("inside")
		select {
		case <-ctx.Done():
			cause = context.Cause(ctx)
			return fmt.Errorf("change one stopped: %w", cause)
		case <-time.After(time.Minute):
			return nil // never cancelled: the parent's assertions fail
		}
	}
	r, err := e.runner(relPipeline(protocol, recovery, hook), flamingock.WithLockTTL(time.Second))
	if err != nil {
		return err
	}
	rep, err := r.Run(ctx)
	out := relChildReport{PID: os.Getpid(), RunID: rep.RunID, Fenced: errors.Is(err, audit.ErrFenced), LeaseLost: errors.Is(err, flamingock.ErrLeaseLost)}
	if err != nil {
		out.Err = err.Error()
	}
	if cause != nil {
		out.Cause, out.CauseLeaseLost = cause.Error(), errors.Is(cause, flamingock.ErrLeaseLost)
	}
	return relReport(out)
}

// relWaitExpiry waits until the store's clock passes the expiry of the
// lease held by pid, and returns that lease.
func relWaitExpiry(t *testing.T, e *relEnv, pid int) audit.LockInfo {
	t.Helper()
	for range 20 {
		li, err := e.store.LockInfo(context.Background())
		if err != nil {
			t.Fatalf("the paused child holds no lease: %v", err)
		}
		if li.Owner.PID != pid {
			t.Fatalf("lease held by pid %d, want the paused child %d", li.Owner.PID, pid)
		}
		if !li.Valid() {
			return li
		}
		time.Sleep(li.ExpiresAt.Sub(li.Now)) // as the store's clock counts it
	}
	t.Fatal("the paused child's lease kept being extended")
	return audit.LockInfo{}
}

// A lock holder stopped inside a change past its lease is taken over, and
// when it resumes it is fenced out: its context is cancelled with
// ErrLeaseLost, its audit write is rejected with ErrFenced, and the change
// takes effect once, by the new holder.
func TestReliabilityPausedHolderIsFencedOut(t *testing.T) {
	t.Parallel()
	cases := []struct {
		protocol string
		recovery flamingock.Recovery
		step     string // where the child is paused: after the write in a transaction, before it outside one
		history  string // of "one" at the end
		// childEntries is what the paused run wrote for "one" before the
		// pause; nothing after it.
		childEntries string
	}{
		{"shared", "manual", "apply-end", "APPLIED", ""},
		{"separate", "manual", "apply-end", "STARTED,STARTED,APPLIED", "STARTED"},
		{"nontx", "retry", "apply-begin", "STARTED,STARTED,APPLIED", "STARTED"},
	}
	for _, tc := range cases {
		t.Run(tc.protocol, func(t *testing.T) {
			relParallel(t)
			e := relNewEnv(t, tc.protocol)
			child := relStart(t, crashtest.Command("", relChildParams("pause", e.layout, tc.protocol, tc.recovery, tc.step)), false)
			if got := child.readLine(t, 30*time.Second); got != "inside" {
				t.Fatalf("child: got %q, want inside", got)
			}
			pid := child.cmd.Process.Pid
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			stale := relWaitExpiry(t, e, pid)

			ctx := context.Background()
			rep, err := e.mustRunner(t, relPipeline(tc.protocol, tc.recovery, nil), flamingock.WithLockTTL(10*time.Second)).Run(ctx)
			if err != nil {
				t.Fatalf("takeover run: %v", err)
			}
			for _, c := range rep.Changes {
				if c.Action != flamingock.ActionApply || c.State != audit.Applied {
					t.Errorf("takeover run: %s %s %s (%s), want apply APPLIED", c.ChangeID, c.Action, c.State, c.Reason)
				}
			}

			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			line := child.readLine(t, 30*time.Second)
			if err := child.wait(t, 30*time.Second); err != nil {
				t.Fatalf("child: %v\n%s", err, child.stderr.String())
			}
			var out relChildReport
			if err := json.Unmarshal([]byte(line), &out); err != nil {
				t.Fatalf("child report %q: %v", line, err)
			}
			t.Logf("paused child's run ended with: %s", out.Err)
			if !out.CauseLeaseLost {
				t.Errorf("the paused change's context ended with %q, want a cause wrapping ErrLeaseLost", out.Cause)
			}
			if !out.LeaseLost || !out.Fenced {
				t.Errorf("the paused run's error %q: wraps ErrLeaseLost %v, ErrFenced %v; want both", out.Err, out.LeaseLost, out.Fenced)
			}
			if !strings.Contains(out.Err, `change "one"`) {
				t.Errorf("the paused run's error %q does not name the change", out.Err)
			}

			for _, id := range []string{"one", "two"} {
				if n := e.effects(t, id); n != 1 {
					t.Errorf("%s took effect %d times, want 1", id, n)
				}
			}
			if got := e.history(t, "one"); got != tc.history {
				t.Errorf("history of one = %s, want %s", got, tc.history)
			}
			var childStates []string
			for _, x := range e.entries(t, "one") {
				switch {
				case x.RunID == out.RunID:
					childStates = append(childStates, string(x.State))
					if x.Token != stale.Token {
						t.Errorf("the paused run wrote with token %d, its lease had %d", x.Token, stale.Token)
					}
				case x.Token <= stale.Token:
					t.Errorf("entry %d (%s) by run %s has token %d, not above the stale lease's %d", x.Seq, x.State, x.RunID, x.Token, stale.Token)
				}
			}
			if got := strings.Join(childStates, ","); got != tc.childEntries {
				t.Errorf("entries of one by the paused run: %q, want %q", got, tc.childEntries)
			}
			e.checkConsistent(t)
		})
	}
}

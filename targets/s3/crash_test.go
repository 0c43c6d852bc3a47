package s3target_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// The crash tests run the pipeline in a child process (this test binary,
// re-executed) that kills itself with SIGKILL at a named step. The S3
// server lives in the test process and outlives the child, which reaches
// it over HTTP; then the test runs the same pipeline again and checks the
// bucket and the audit trail.

const (
	childEnv    = "FLAMINGOCK_TEST_CHILD"
	endpointEnv = "FLAMINGOCK_TEST_S3_ENDPOINT"
	auditEnv    = "FLAMINGOCK_TEST_AUDIT_DB"
	recoveryEnv = "FLAMINGOCK_TEST_RECOVERY"
	killEnv     = "FLAMINGOCK_TEST_KILL_AT"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

func pipeline(recovery flamingock.Recovery, h hooks) flamingock.Pipeline {
	return stage(putChange("one", "1", recovery, h, nil), putChange("two", "2", recovery, hooks{}, nil))
}

func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is delivered asynchronously
}

// killingStore kills the process just before the APPLIED append of "one".
type killingStore struct {
	*sqlite.Store
	at string
}

func (k killingStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied && k.at == "before-applied" {
		killSelf()
	}
	return k.Store.Append(ctx, e)
}

func child() int {
	ctx := context.Background()
	e, err := openEnv(ctx, os.Getenv(endpointEnv), os.Getenv(auditEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	at := os.Getenv(killEnv)
	h := hooks{at: func(step string) {
		if step == at {
			killSelf()
		}
	}}
	r, err := flamingock.New(pipeline(flamingock.Recovery(os.Getenv(recoveryEnv)), h),
		flamingock.WithAuditStore(killingStore{e.store, at}), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(time.Second), flamingock.WithLockWait(30*time.Second),
		flamingock.WithListener(func(ev flamingock.Event) {
			if f, ok := ev.(flamingock.ChangeFinished); ok && f.Result.ChangeID == "one" && at == "after-applied" {
				killSelf()
			}
		}))
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

func TestCrashAtEveryStep(t *testing.T) {
	type want struct {
		history string // of change "one" after recovery
		effects int    // objects "one" wrote
		issue   bool   // the first recovery run stops on an issue
	}
	cases := []struct {
		recovery flamingock.Recovery
		killAt   string
		want     want
	}{
		// Manual: an issue, resolved by an operator with MarkRolledBack,
		// after which the change is applied again. (A real operator would
		// first delete what the dead attempt wrote; the count shows it.)
		{"manual", "apply-begin", want{"STARTED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED", 1, true}},
		{"manual", "apply-end", want{"STARTED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED", 2, true}},
		{"manual", "before-applied", want{"STARTED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED", 2, true}},
		{"manual", "after-applied", want{"STARTED,APPLIED", 1, false}},
		// Retry: applied again at once.
		{"retry", "apply-begin", want{"STARTED,STARTED,APPLIED", 1, false}},
		{"retry", "apply-end", want{"STARTED,STARTED,APPLIED", 2, false}},
		{"retry", "before-applied", want{"STARTED,STARTED,APPLIED", 2, false}},
		{"retry", "after-applied", want{"STARTED,APPLIED", 1, false}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s", tc.recovery, tc.killAt), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			endpoint := newServer(t)
			auditPath := filepath.Join(t.TempDir(), "audit.db")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1", endpointEnv+"="+endpoint, auditEnv+"="+auditPath,
				recoveryEnv+"="+string(tc.recovery), killEnv+"="+tc.killAt)
			out, err := cmd.CombinedOutput()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if err == nil || !ok || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed at %s: %v\n%s", tc.killAt, err, out)
			}

			e, err := openEnv(ctx, endpoint, auditPath)
			if err != nil {
				t.Fatal(err)
			}
			defer e.store.Close()
			p := pipeline(tc.recovery, hooks{})
			// The dead child's lease (1s) must expire before the recovery run
			// can lock; the runner waits for it.
			_, err = e.runner(t, p).Run(ctx)
			if tc.want.issue {
				issues, ok := errors.AsType[*flamingock.IssuesError](err)
				if !ok || len(issues.Issues) != 1 || issues.Issues[0].Latest.ChangeID != "one" || issues.Issues[0].Latest.State != audit.Started {
					t.Fatalf("recovery run: want an issue on one, got %v", err)
				}
				if n := e.effects(t, "two"); n != 0 {
					t.Fatalf("two ran %d times past an issue", n)
				}
				if _, err := flamingock.MarkRolledBack(ctx, e.store, flamingock.Resolution{ChangeID: "one", By: "ops", Reason: "checked the bucket"}); err != nil {
					t.Fatal(err)
				}
				_, err = e.runner(t, p).Run(ctx)
			}
			if err != nil {
				t.Fatalf("recovery run: %v", err)
			}
			if got := e.history(t, "one"); got != tc.want.history {
				t.Errorf("history of one = %s, want %s", got, tc.want.history)
			}
			if got := e.effects(t, "one"); got != tc.want.effects {
				t.Errorf("one wrote %d objects, want %d", got, tc.want.effects)
			}
			if got := e.effects(t, "two"); got != 1 {
				t.Errorf("two wrote %d objects, want 1", got)
			}
		})
	}
}

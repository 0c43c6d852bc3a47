package s3target_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// The crash tests run the pipeline in a child process (this test binary,
// re-executed) that kills itself with SIGKILL at a named step. The S3
// server lives in the test process and outlives the child, which reaches
// it over HTTP; then the test runs the same pipeline again and checks the
// bucket and the audit trail.

func TestMain(m *testing.M) { crashtest.Main(m, child) }

func pipeline(recovery flamingock.Recovery, h hooks) flamingock.Pipeline {
	return stage(putChange("one", "1", recovery, h, nil), putChange("two", "2", recovery, hooks{}, nil))
}

// killingStore kills the process just before the APPLIED append of "one".
type killingStore struct{ *sqlite.Store }

func (k killingStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied {
		crashtest.At(crashtest.BeforeApplied)
	}
	return k.Store.Append(ctx, e)
}

func child() int {
	ctx := context.Background()
	e, err := openEnv(ctx, crashtest.Param("S3_ENDPOINT"), crashtest.Param("AUDIT_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	h := hooks{at: crashtest.At}
	r, err := flamingock.New(pipeline(flamingock.Recovery(crashtest.Param("RECOVERY")), h),
		flamingock.WithAuditStore(killingStore{e.store}), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(time.Second), flamingock.WithLockWait(30*time.Second),
		crashtest.KillAfterRecorded("one"))
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
			crashtest.RunUntilKilled(t, tc.killAt, map[string]string{"S3_ENDPOINT": endpoint, "AUDIT_DB": auditPath, "RECOVERY": string(tc.recovery)})

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
				crashtest.ResolveStartedIssue(t, err, e.store, "one")
				if n := e.effects(t, "two"); n != 0 {
					t.Fatalf("two ran %d times past an issue", n)
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

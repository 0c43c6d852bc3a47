package sqltarget_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// The crash tests run the pipeline in a child process that kills itself
// with SIGKILL at a named step (see internal/crashtest), then run the same
// pipeline again in the test and check the target and the audit trail.

func TestMain(m *testing.M) { crashtest.Main(m, child) }

// pipeline is the crash tests' pipeline: "one" is interrupted, "two" comes
// after it in the same stage.
func pipeline(protocol string, recovery flamingock.Recovery, h hooks) flamingock.Pipeline {
	if protocol == "nontx" {
		return stage(dbChange("one", "1", recovery, h, nil), dbChange("two", "2", recovery, hooks{}, nil))
	}
	return stage(txChange("one", "1", h, nil), txChange("two", "2", hooks{}, nil))
}

// killingStore passes every call to the SQLite store (embedding keeps its
// shared-transaction methods) and dies before the APPLIED append of "one".
type killingStore struct{ *sqlite.Store }

func (k killingStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied {
		crashtest.At(crashtest.BeforeApplied)
	}
	return k.Store.Append(ctx, e)
}

func child() int {
	switch crashtest.Param("MODE") {
	case "undo":
		return undoChild()
	case "undo-run":
		return undoRunChild()
	}
	if crashtest.Param("BACKEND") == "mysql" {
		if crashtest.Param("MODE") == "pause" {
			return myPauseChild()
		}
		return myChild()
	}
	ctx := context.Background()
	e, err := openEnv(ctx, crashtest.Param("AUDIT_DB"), crashtest.Param("TARGET_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	p := pipeline(crashtest.Param("PROTOCOL"), flamingock.Recovery(crashtest.Param("RECOVERY")), hooks{at: crashtest.At})
	r, err := flamingock.New(p, flamingock.WithAuditStore(killingStore{e.store}), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(time.Second), flamingock.WithLockWait(30*time.Second), crashtest.KillAfterRecorded("one"))
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

func childParams(auditPath, targetPath, protocol string, recovery flamingock.Recovery) map[string]string {
	return map[string]string{"AUDIT_DB": auditPath, "TARGET_DB": targetPath, "PROTOCOL": protocol, "RECOVERY": string(recovery)}
}

// crashWant is what a crash must leave once the pipeline ran again.
type crashWant struct {
	history string // of change "one" after the recovery run
	effects int    // applications of "one" visible in the target
	issue   bool   // the recovery run stops on an issue
}

// crashCases is what each crash step must leave, per protocol and
// recovery; the SQLite and the MySQL crash tests share it.
var crashCases = []struct {
	protocol string
	recovery flamingock.Recovery
	killAt   string
	want     crashWant
}{
	// Shared transaction: the transaction is the record.
	{"shared", "manual", "apply-begin", crashWant{"APPLIED", 1, false}},
	{"shared", "manual", "apply-end", crashWant{"APPLIED", 1, false}},
	{"shared", "manual", "after-applied", crashWant{"APPLIED", 1, false}},
	// Separate transaction with a commit marker.
	{"separate", "manual", "apply-begin", crashWant{"STARTED,STARTED,APPLIED", 1, false}},
	{"separate", "manual", "apply-end", crashWant{"STARTED,STARTED,APPLIED", 1, false}},
	{"separate", "manual", "before-applied", crashWant{"STARTED,APPLIED", 1, false}},
	{"separate", "manual", "after-applied", crashWant{"STARTED,APPLIED", 1, false}},
	// Non-transactional, manual recovery: ambiguity is an issue.
	{"nontx", "manual", "apply-begin", crashWant{"STARTED", 0, true}},
	{"nontx", "manual", "apply-end", crashWant{"STARTED", 1, true}},
	{"nontx", "manual", "before-applied", crashWant{"STARTED", 1, true}},
	{"nontx", "manual", "after-applied", crashWant{"STARTED,APPLIED", 1, false}},
	// Non-transactional, retry: re-applied, twice in effect when the
	// first attempt got through (retry is for idempotent changes).
	{"nontx", "retry", "apply-begin", crashWant{"STARTED,STARTED,APPLIED", 1, false}},
	{"nontx", "retry", "apply-end", crashWant{"STARTED,STARTED,APPLIED", 2, false}},
	{"nontx", "retry", "before-applied", crashWant{"STARTED,STARTED,APPLIED", 2, false}},
	{"nontx", "retry", "after-applied", crashWant{"STARTED,APPLIED", 1, false}},
}

func TestCrashAtEveryStep(t *testing.T) {
	for _, tc := range crashCases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.protocol, tc.recovery, tc.killAt), func(t *testing.T) {
			t.Parallel()
			auditPath, targetPath := paths(t, tc.protocol == "shared")
			crashtest.RunUntilKilled(t, tc.killAt, childParams(auditPath, targetPath, tc.protocol, tc.recovery))

			e, err := openEnv(context.Background(), auditPath, targetPath)
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			// The dead child's lease (1s) must expire before the recovery run
			// can lock; the runner waits for it.
			_, err = e.runner(t, e.store, pipeline(tc.protocol, tc.recovery, hooks{})).Run(context.Background())
			if tc.want.issue != errors.Is(err, flamingock.ErrIssues) || (!tc.want.issue && err != nil) {
				t.Fatalf("recovery run: %v (want issue=%v)", err, tc.want.issue)
			}
			if got := e.history(t, "one"); got != tc.want.history {
				t.Errorf("history of one = %s, want %s", got, tc.want.history)
			}
			if got := e.effects(t, "one"); got != tc.want.effects {
				t.Errorf("one applied %d times, want %d", got, tc.want.effects)
			}
			wantTwo := 1
			if tc.want.issue {
				wantTwo = 0
			}
			if got := e.effects(t, "two"); got != wantTwo {
				t.Errorf("two applied %d times, want %d", got, wantTwo)
			}
		})
	}
}

// Several processes start at once on one SQLite database; each change is
// applied exactly once.
func TestConcurrentProcessesApplyEachChangeOnce(t *testing.T) {
	for _, protocol := range []string{"shared", "separate", "nontx"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			auditPath, targetPath := paths(t, protocol == "shared")
			var wg sync.WaitGroup
			outs := make([][]byte, 4)
			errs := make([]error, 4)
			for i := range 4 {
				wg.Go(func() {
					outs[i], errs[i] = crashtest.Command("", childParams(auditPath, targetPath, protocol, "manual")).CombinedOutput()
				})
			}
			wg.Wait()
			for i := range 4 {
				if errs[i] != nil {
					t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
				}
			}
			e, err := openEnv(context.Background(), auditPath, targetPath)
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			for _, id := range []string{"one", "two"} {
				if n := e.effects(t, id); n != 1 {
					t.Errorf("%s applied %d times", id, n)
				}
			}
		})
	}
}

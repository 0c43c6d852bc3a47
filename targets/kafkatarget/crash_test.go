package kafkatarget_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// The crash tests run the pipeline in a child process (this test binary,
// re-executed) that kills itself with SIGKILL at a named step. The kfake
// cluster lives in the test process and outlives the child, which connects
// to it as a client; then the test runs the same pipeline again and checks
// the topic and the audit trail.

func TestMain(m *testing.M) { crashtest.Main(m, child) }

// pipeline is the crash tests' pipeline: "one" is interrupted, "two" comes
// after it in the same stage.
func pipeline(protocol string, recovery flamingock.Recovery, h hooks) flamingock.Pipeline {
	tx := protocol == "tx"
	return stage(produceChange("one", "1", tx, recovery, h, nil), produceChange("two", "2", tx, recovery, hooks{}, nil))
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
	e, err := openEnv(ctx, strings.Split(crashtest.Param("KAFKA_SEEDS"), ","), crashtest.Param("AUDIT_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	h := hooks{at: crashtest.At}
	p := pipeline(crashtest.Param("PROTOCOL"), flamingock.Recovery(crashtest.Param("RECOVERY")), h)
	r, err := flamingock.New(p, flamingock.WithAuditStore(killingStore{e.store}), flamingock.WithTargets(e.target),
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
		effects int    // committed records of "one" in the topic
		issue   bool   // the first recovery run stops on an issue
	}
	cases := []struct {
		protocol string
		recovery flamingock.Recovery
		killAt   string
		want     want
	}{
		// Kafka transaction with a commit marker: an open transaction is
		// aborted (the recovery's producer fences the dead one), a committed
		// one is proved by its marker.
		{"tx", "manual", "apply-begin", want{"STARTED,STARTED,APPLIED", 1, false}},
		{"tx", "manual", "apply-end", want{"STARTED,STARTED,APPLIED", 1, false}},
		{"tx", "manual", "before-applied", want{"STARTED,APPLIED", 1, false}},
		{"tx", "manual", "after-applied", want{"STARTED,APPLIED", 1, false}},
		// Non-transactional, manual: an issue, resolved by an operator with
		// MarkRolledBack, after which the change is applied again. (A real
		// operator would first remove the half-applied records; the count
		// shows what was left.)
		{"nontx", "manual", "apply-begin", want{"STARTED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED", 1, true}},
		{"nontx", "manual", "apply-end", want{"STARTED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED", 2, true}},
		{"nontx", "manual", "before-applied", want{"STARTED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED", 2, true}},
		{"nontx", "manual", "after-applied", want{"STARTED,APPLIED", 1, false}},
		// Non-transactional, retry: applied again at once (twice in effect
		// when the first attempt got through: retry is for idempotent changes).
		{"nontx", "retry", "apply-begin", want{"STARTED,STARTED,APPLIED", 1, false}},
		{"nontx", "retry", "apply-end", want{"STARTED,STARTED,APPLIED", 2, false}},
		{"nontx", "retry", "before-applied", want{"STARTED,STARTED,APPLIED", 2, false}},
		{"nontx", "retry", "after-applied", want{"STARTED,APPLIED", 1, false}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.protocol, tc.recovery, tc.killAt), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			seeds := newCluster(t)
			auditPath := filepath.Join(t.TempDir(), "audit.db")
			crashtest.RunUntilKilled(t, tc.killAt, map[string]string{"KAFKA_SEEDS": strings.Join(seeds, ","), "AUDIT_DB": auditPath, "PROTOCOL": tc.protocol, "RECOVERY": string(tc.recovery)})

			e, err := openEnv(ctx, seeds, auditPath)
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			p := pipeline(tc.protocol, tc.recovery, hooks{})
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
				t.Errorf("one has %d committed records, want %d", got, tc.want.effects)
			}
			if got := e.effects(t, "two"); got != 1 {
				t.Errorf("two has %d committed records, want 1", got)
			}
		})
	}
}

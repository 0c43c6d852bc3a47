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
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	"github.com/flamingock/flamingock-go/internal/mytest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// killingMyStore passes every call to the MySQL store (embedding keeps its
// shared-transaction methods) and dies before the APPLIED append of "one".
type killingMyStore struct{ *mysql.Store }

func (k killingMyStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied {
		crashtest.At(crashtest.BeforeApplied)
	}
	return k.Store.Append(ctx, e)
}

// myChild is the crash tests' child process on MariaDB/MySQL (see child).
func myChild() int {
	ctx := context.Background()
	e, err := openMyEnv(ctx, crashtest.Param("TARGET_DB"), crashtest.Param("AUDIT_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer e.close()
	p := pipeline(crashtest.Param("PROTOCOL"), flamingock.Recovery(crashtest.Param("RECOVERY")), hooks{at: crashtest.At})
	r, err := flamingock.New(p, flamingock.WithAuditStore(killingMyStore{e.store}), flamingock.WithTargets(e.target),
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

// myChildParams creates the databases of one crash case (one database when
// the audit shares the target's) and returns the child's parameters.
func myChildParams(t *testing.T, protocol string, recovery flamingock.Recovery) map[string]string {
	target := mytest.New(t)
	auditDSN := target.DSN
	if protocol != "shared" {
		auditDSN = mytest.New(t).DSN
	}
	return map[string]string{"BACKEND": "mysql", "TARGET_DB": target.DSN, "AUDIT_DB": auditDSN, "PROTOCOL": protocol, "RECOVERY": string(recovery)}
}

// TestMySQLCrashAtEveryStep kills a child process (SIGKILL) at every step
// of every protocol on MariaDB/MySQL, then runs the pipeline again and
// checks the target and the audit trail, with the same expectations as on
// SQLite.
func TestMySQLCrashAtEveryStep(t *testing.T) {
	for _, tc := range crashCases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.protocol, tc.recovery, tc.killAt), func(t *testing.T) {
			t.Parallel()
			params := myChildParams(t, tc.protocol, tc.recovery)
			crashtest.RunUntilKilled(t, tc.killAt, params)

			e, err := openMyEnv(context.Background(), params["TARGET_DB"], params["AUDIT_DB"])
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			// The dead child's lease (1s) must expire before the recovery run
			// can lock; the runner waits for it.
			_, err = e.runner(t, pipeline(tc.protocol, tc.recovery, hooks{})).Run(context.Background())
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

// TestMySQLConcurrentProcessesApplyEachChangeOnce: four processes start at
// once on one MariaDB/MySQL setup; each change is applied exactly once.
func TestMySQLConcurrentProcessesApplyEachChangeOnce(t *testing.T) {
	for _, protocol := range []string{"shared", "separate", "nontx"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			params := myChildParams(t, protocol, "manual")
			var wg sync.WaitGroup
			outs := make([][]byte, 4)
			errs := make([]error, 4)
			for i := range 4 {
				wg.Go(func() {
					outs[i], errs[i] = crashtest.Command("", params).CombinedOutput()
				})
			}
			wg.Wait()
			for i := range 4 {
				if errs[i] != nil {
					t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
				}
			}
			e, err := openMyEnv(context.Background(), params["TARGET_DB"], params["AUDIT_DB"])
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

package couchbase_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	cbaudit "github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/internal/cbtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/couchbase"
)

// The crash tests run the pipeline in a child process (this test binary,
// re-executed against the parent's gocaves) that kills itself with SIGKILL
// at a named step, then run the same pipeline again in the test and check
// the documents and the audit trail.

const (
	childEnv    = "FLAMINGOCK_TEST_CHILD"
	connEnv     = "FLAMINGOCK_TEST_CONNSTR"
	prefixEnv   = "FLAMINGOCK_TEST_PREFIX"
	sqliteEnv   = "FLAMINGOCK_TEST_SQLITE"
	protocolEnv = "FLAMINGOCK_TEST_PROTOCOL"
	recoveryEnv = "FLAMINGOCK_TEST_RECOVERY"
	killEnv     = "FLAMINGOCK_TEST_KILL_AT"
)

// Short enough to keep the tests quick: the dead child's lease and its
// abandoned transaction must expire before the recovery run proceeds.
const (
	childLeaseTTL = time.Second
	childTxTTL    = 2 * time.Second
)

func isChild() bool { return os.Getenv(childEnv) != "" }

// withCleanup makes a connection clean up abandoned transactions on the
// default collection promptly (gocb's default window is a minute).
func withCleanup(o *gocb.ClusterOptions) {
	o.TransactionsConfig.CleanupConfig.CleanupWindow = 500 * time.Millisecond
	o.TransactionsConfig.CleanupConfig.CleanupCollections = []gocb.TransactionKeyspace{{BucketName: cbtest.Bucket, ScopeName: "_default", CollectionName: "_default"}}
}

func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is delivered asynchronously
}

// killingStore passes every call to the Couchbase store (embedding keeps
// AppendTx, so the target still shares transactions with it) and kills the
// process around the APPLIED entry of change "one".
type killingStore struct {
	*cbaudit.Store
	at string
}

func (k killingStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied && k.at == "before-applied" {
		killSelf()
	}
	return k.Store.Append(ctx, e)
}

func (k killingStore) AppendTx(ctx context.Context, tx *gocb.TransactionAttemptContext, e audit.Entry) (audit.Entry, error) {
	got, err := k.Store.AppendTx(ctx, tx, e)
	if e.ChangeID == "one" && k.at == "after-append-staged" {
		killSelf()
	}
	return got, err
}

// killingSQLite does the same for the SQLite store of the marker protocol.
type killingSQLite struct {
	audit.Store
	at string
}

func (k killingSQLite) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied && k.at == "before-applied" {
		killSelf()
	}
	return k.Store.Append(ctx, e)
}

// pipeline is the crash tests' pipeline: "one" is interrupted, "two" comes
// after it in the same stage.
func (e *env) pipeline(protocol string, recovery flamingock.Recovery, h hooks) flamingock.Pipeline {
	if protocol == "nontx" {
		return stage(e.kvChange("one", "1", recovery, h, nil, false), e.kvChange("two", "2", recovery, hooks{}, nil, false))
	}
	return stage(e.txChange("one", "1", h, nil), e.txChange("two", "2", hooks{}, nil))
}

func child() {
	os.Exit(runChildPipeline())
}

func runChildPipeline() int {
	ctx := context.Background()
	srv := &cbtest.Server{ConnStr: os.Getenv(connEnv), User: cbtest.DefaultUser, Password: cbtest.DefaultPassword}
	cluster, err := srv.Open(withCleanup)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	e, err := openEnv(ctx, cluster, os.Getenv(prefixEnv), os.Getenv(sqliteEnv), couchbase.WithTransactionTimeout(childTxTTL))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	at := os.Getenv(killEnv)
	store := e.store
	if cb, ok := store.(*cbaudit.Store); ok {
		store = killingStore{cb, at}
	} else {
		store = killingSQLite{store, at}
	}
	h := hooks{at: func(step string) {
		if step == at {
			killSelf()
		}
	}}
	r, err := flamingock.New(e.pipeline(os.Getenv(protocolEnv), flamingock.Recovery(os.Getenv(recoveryEnv)), h),
		flamingock.WithAuditStore(store), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(childLeaseTTL), flamingock.WithLockWait(60*time.Second),
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

func childCmd(srv *cbtest.Server, prefix, sqlitePath, protocol string, recovery flamingock.Recovery, killAt string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", connEnv+"="+srv.ConnStr, prefixEnv+"="+prefix, sqliteEnv+"="+sqlitePath,
		protocolEnv+"="+protocol, recoveryEnv+"="+string(recovery), killEnv+"="+killAt)
	return cmd
}

// crashWorld is where a crash test's child and recovery run meet.
func crashWorld(t *testing.T, protocol string) (srv *cbtest.Server, prefix, sqlitePath string) {
	srv = cbtest.Shared(t)
	prefix = cbtest.Prefix(t)
	if protocol != "shared" {
		sqlitePath = filepath.Join(t.TempDir(), "audit.db")
	}
	return srv, prefix, sqlitePath
}

func TestCrashAtEveryStep(t *testing.T) {
	type want struct {
		history string // of change "one" after the recovery run
		effects int    // applications of "one" visible in the documents
		issue   bool   // the recovery run stops on an issue
		// abandoned: the child died inside a Couchbase transaction and left
		// staged writes. gocaves does not run gocb's lost-transaction
		// cleanup, so the recovery run cannot finish here (on Couchbase
		// Server the cleanup removes them once the transaction expires);
		// what must hold is that nothing of the dead attempt commits and
		// nothing is recorded as applied.
		abandoned bool
	}
	cases := []struct {
		protocol string
		recovery flamingock.Recovery
		killAt   string
		want     want
	}{
		// Shared transaction: the transaction is the record.
		{"shared", "manual", "apply-begin", want{history: "APPLIED", effects: 1, issue: false}},
		{"shared", "manual", "apply-end", want{abandoned: true}},
		{"shared", "manual", "after-append-staged", want{abandoned: true}},
		{"shared", "manual", "after-applied", want{history: "APPLIED", effects: 1, issue: false}},
		// Separate transaction with a commit marker (SQLite audit store).
		{"separate", "manual", "apply-begin", want{history: "STARTED,STARTED,APPLIED", effects: 1, issue: false}},
		{"separate", "manual", "apply-end", want{abandoned: true}},
		{"separate", "manual", "before-applied", want{history: "STARTED,APPLIED", effects: 1, issue: false}},
		{"separate", "manual", "after-applied", want{history: "STARTED,APPLIED", effects: 1, issue: false}},
		// Non-transactional (Couchbase audit store), manual recovery:
		// ambiguity is an issue.
		{"nontx", "manual", "apply-begin", want{history: "STARTED", effects: 0, issue: true}},
		{"nontx", "manual", "apply-end", want{history: "STARTED", effects: 1, issue: true}},
		{"nontx", "manual", "before-applied", want{history: "STARTED", effects: 1, issue: true}},
		{"nontx", "manual", "after-applied", want{history: "STARTED,APPLIED", effects: 1, issue: false}},
		// Non-transactional, retry: re-applied.
		{"nontx", "retry", "apply-end", want{history: "STARTED,STARTED,APPLIED", effects: 2, issue: false}},
		{"nontx", "retry", "after-applied", want{history: "STARTED,APPLIED", effects: 1, issue: false}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.protocol, tc.recovery, tc.killAt), func(t *testing.T) {
			t.Parallel()
			srv, prefix, sqlitePath := crashWorld(t, tc.protocol)
			cmd := childCmd(srv, prefix, sqlitePath, tc.protocol, tc.recovery, tc.killAt)
			out, err := cmd.CombinedOutput()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if err == nil || !ok || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed at %s: %v\n%s", tc.killAt, err, out)
			}

			e, err := openEnv(context.Background(), srv.Connect(t, withCleanup), prefix, sqlitePath)
			if err != nil {
				t.Fatal(err)
			}
			defer e.store.Close()
			// The dead child's lease must expire, and under the shared
			// protocol its abandoned transaction be cleaned up, before the
			// recovery run can lock; the runner waits for both.
			if tc.want.abandoned {
				checkAbandoned(t, e, tc.protocol)
				return
			}
			_, err = e.runner(t, e.pipeline(tc.protocol, tc.recovery, hooks{})).Run(context.Background())
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

// checkAbandoned runs the recovery with a short lock wait and checks that
// the dead child's staged transaction neither commits nor counts as applied.
func checkAbandoned(t *testing.T, e *env, protocol string) {
	_, err := e.runner(t, e.pipeline(protocol, "manual", hooks{}), flamingock.WithLockWait(5*time.Second)).Run(context.Background())
	if err == nil {
		t.Fatalf("recovery run succeeded over an abandoned transaction; gocaves now cleans them up: expect APPLIED here")
	}
	t.Logf("recovery run over the abandoned transaction: %v", err)
	for _, id := range []string{"one", "two"} {
		if n := e.effects(t, id); n != 0 {
			t.Errorf("%s applied %d times; the abandoned transaction's writes must stay invisible", id, n)
		}
	}
	snap, serr := e.store.Snapshot(context.Background())
	if serr != nil {
		t.Fatal(serr)
	}
	for id, x := range snap {
		if x.State == audit.Applied {
			t.Errorf("%s recorded APPLIED though nothing committed: %+v", id, x)
		}
	}
}

// Several processes start at once on one audit trail; each change is
// applied exactly once.
func TestConcurrentProcessesApplyEachChangeOnce(t *testing.T) {
	for _, protocol := range []string{"shared", "separate", "nontx"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			srv, prefix, sqlitePath := crashWorld(t, protocol)
			const processes = 4
			var wg sync.WaitGroup
			outs := make([][]byte, processes)
			errs := make([]error, processes)
			for i := range processes {
				wg.Go(func() {
					outs[i], errs[i] = childCmd(srv, prefix, sqlitePath, protocol, "manual", "").CombinedOutput()
				})
			}
			wg.Wait()
			for i := range processes {
				if errs[i] != nil {
					t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
				}
			}
			e, err := openEnv(context.Background(), srv.Connect(t), prefix, sqlitePath)
			if err != nil {
				t.Fatal(err)
			}
			defer e.store.Close()
			for _, id := range []string{"one", "two"} {
				if n := e.effects(t, id); n != 1 {
					t.Errorf("%s applied %d times", id, n)
				}
				if got := e.latest(t, id).State; got != audit.Applied {
					t.Errorf("%s latest state %s", id, got)
				}
			}
		})
	}
}

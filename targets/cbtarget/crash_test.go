package cbtarget_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/internal/cbtest"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/cbtarget"
)

// The crash tests run the pipeline in a child process (this test binary,
// re-executed against the parent's gocaves; see internal/crashtest) that
// kills itself with SIGKILL at a named step, then run the same pipeline
// again in the test and check the documents and the audit trail.

// TestMain dispatches a crash child before anything else; the parent runs
// the tests through cbtest.Main, which stops the shared gocaves after them.
func TestMain(m *testing.M) {
	crashtest.RunIfChild(child)
	cbtest.Main(m)
}

// afterAppendStaged is a step of the shared protocol only: the APPLIED
// entry of "one" is staged in the change's transaction, not yet committed.
const afterAppendStaged = "after-append-staged"

// Short enough to keep the tests quick: the dead child's lease and its
// abandoned transaction must expire before the recovery run proceeds.
const (
	childLeaseTTL = time.Second
	childTxTTL    = 2 * time.Second
)

// withCleanup makes a connection clean up abandoned transactions on the
// default collection promptly (gocb's default window is a minute).
func withCleanup(o *gocb.ClusterOptions) {
	o.TransactionsConfig.CleanupConfig.CleanupWindow = 500 * time.Millisecond
	o.TransactionsConfig.CleanupConfig.CleanupCollections = []gocb.TransactionKeyspace{{BucketName: cbtest.Bucket, ScopeName: "_default", CollectionName: "_default"}}
}

// killingStore passes every call to the Couchbase store (embedding keeps
// AppendTx, so the target still shares transactions with it) and dies
// around the APPLIED entry of change "one".
type killingStore struct{ *couchbase.Store }

func (k killingStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied {
		crashtest.At(crashtest.BeforeApplied)
	}
	return k.Store.Append(ctx, e)
}

func (k killingStore) AppendTx(ctx context.Context, tx *gocb.TransactionAttemptContext, e audit.Entry) (audit.Entry, error) {
	got, err := k.Store.AppendTx(ctx, tx, e)
	if e.ChangeID == "one" {
		crashtest.At(afterAppendStaged)
	}
	return got, err
}

// killingSQLite does the same for the SQLite store of the marker protocol.
type killingSQLite struct{ audit.Store }

func (k killingSQLite) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "one" && e.State == audit.Applied {
		crashtest.At(crashtest.BeforeApplied)
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

// child runs the pipeline on the world childParams describes and dies at
// the step the parent named.
func child() int {
	ctx := context.Background()
	srv := &cbtest.Server{ConnStr: crashtest.Param("CONNSTR"), User: cbtest.DefaultUser, Password: cbtest.DefaultPassword}
	cluster, err := srv.Open(withCleanup)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	e, err := openEnv(ctx, cluster, crashtest.Param("PREFIX"), crashtest.Param("SQLITE"), cbtarget.WithTransactionTimeout(childTxTTL))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	store := e.store
	if cb, ok := store.(*couchbase.Store); ok {
		store = killingStore{cb}
	} else {
		store = killingSQLite{store}
	}
	r, err := flamingock.New(e.pipeline(crashtest.Param("PROTOCOL"), flamingock.Recovery(crashtest.Param("RECOVERY")), hooks{at: crashtest.At}),
		flamingock.WithAuditStore(store), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(childLeaseTTL), flamingock.WithLockWait(60*time.Second),
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

func childParams(srv *cbtest.Server, prefix, sqlitePath, protocol string, recovery flamingock.Recovery) map[string]string {
	return map[string]string{"CONNSTR": srv.ConnStr, "PREFIX": prefix, "SQLITE": sqlitePath, "PROTOCOL": protocol, "RECOVERY": string(recovery)}
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
			crashtest.RunUntilKilled(t, tc.killAt, childParams(srv, prefix, sqlitePath, tc.protocol, tc.recovery))

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
	store := e.store
	if _, onCouchbase := store.(*couchbase.Store); onCouchbase {
		// The store waits for a staged transaction to settle before it
		// reads; gocaves never settles an abandoned one, so wait briefly.
		short, err := couchbase.New(context.Background(), e.cluster, cbtest.Bucket, couchbase.WithKeyPrefix(e.prefix), couchbase.WithStagedWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		store = short
	}
	_, err := e.runner(t, e.pipeline(protocol, "manual", hooks{}), flamingock.WithAuditStore(store), flamingock.WithLockWait(5*time.Second)).Run(context.Background())
	if err == nil {
		t.Fatalf("recovery run succeeded over an abandoned transaction; gocaves now cleans them up: expect APPLIED here")
	}
	t.Logf("recovery run over the abandoned transaction: %v", err)
	for _, id := range []string{"one", "two"} {
		if n := e.effects(t, id); n != 0 {
			t.Errorf("%s applied %d times; the abandoned transaction's writes must stay invisible", id, n)
		}
	}
	snap, serr := store.Snapshot(context.Background())
	if serr != nil {
		// Refusing to read past an unsettled transaction is safe too:
		// nothing can be decided, or recorded, from a stale view.
		if !strings.Contains(serr.Error(), "staged") {
			t.Fatal(serr)
		}
		return
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
					outs[i], errs[i] = crashtest.Command("", childParams(srv, prefix, sqlitePath, protocol, "manual")).CombinedOutput()
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

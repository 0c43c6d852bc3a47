package pgtarget_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// relCrashCase is one row of the crash table (docs/reliability.md): the
// child running the two-change pipeline is killed with SIGKILL at step of
// change "one"; the test then runs the same pipeline, waiting for the dead
// child's lease to expire, and checks the outcome.
type relCrashCase struct {
	protocol string // shared, separate or nontx
	recovery flamingock.Recovery
	step     string
	// action is what the recovery run decides for "one".
	action flamingock.Action
	// history is the states of "one" after the recovery run.
	history string
	// effects is how many times "one" took effect in the target.
	effects int
}

// relCrashCases: the steps are, in order, "apply-begin" (before the
// change's write), "apply-end" (after it), "before-commit" (the COMMIT is
// about to be sent; under the shared protocol in one round trip with the
// APPLIED append), "after-commit" (the COMMIT succeeded, nothing after it
// ran), "before-applied" (a non-transactional change succeeded, its
// APPLIED append is about to be sent) and "after-applied" (the run
// recorded the change's outcome).
var relCrashCases = []relCrashCase{
	// Shared transaction: the change and its APPLIED entry commit together,
	// so a crash leaves either both or neither.
	{"shared", "manual", "apply-begin", flamingock.ActionApply, "APPLIED", 1},
	{"shared", "manual", "apply-end", flamingock.ActionApply, "APPLIED", 1},
	{"shared", "manual", "before-commit", flamingock.ActionApply, "APPLIED", 1},
	{"shared", "manual", "after-commit", flamingock.ActionSkip, "APPLIED", 1},
	{"shared", "manual", "after-applied", flamingock.ActionSkip, "APPLIED", 1},
	// Separate transaction with a commit marker: STARTED without a newer
	// marker is re-applied; a marker proves a commit whose APPLIED was lost.
	{"separate", "manual", "apply-begin", flamingock.ActionApply, "STARTED,STARTED,APPLIED", 1},
	{"separate", "manual", "apply-end", flamingock.ActionApply, "STARTED,STARTED,APPLIED", 1},
	{"separate", "manual", "before-commit", flamingock.ActionApply, "STARTED,STARTED,APPLIED", 1},
	{"separate", "manual", "after-commit", flamingock.ActionRecordApplied, "STARTED,APPLIED", 1},
	{"separate", "manual", "after-applied", flamingock.ActionSkip, "STARTED,APPLIED", 1},
	// Non-transactional, manual recovery: STARTED is ambiguous, so it is an
	// issue that blocks the stage until an operator resolves it.
	{"nontx", "manual", "apply-begin", flamingock.ActionIssue, "STARTED", 0},
	{"nontx", "manual", "apply-end", flamingock.ActionIssue, "STARTED", 1},
	{"nontx", "manual", "before-applied", flamingock.ActionIssue, "STARTED", 1},
	{"nontx", "manual", "after-applied", flamingock.ActionSkip, "STARTED,APPLIED", 1},
	// Non-transactional, retry: re-applied; twice in effect when the first
	// attempt got through (retry is for idempotent changes).
	{"nontx", "retry", "apply-begin", flamingock.ActionApply, "STARTED,STARTED,APPLIED", 1},
	{"nontx", "retry", "apply-end", flamingock.ActionApply, "STARTED,STARTED,APPLIED", 2},
	{"nontx", "retry", "before-applied", flamingock.ActionApply, "STARTED,STARTED,APPLIED", 2},
	{"nontx", "retry", "after-applied", flamingock.ActionSkip, "STARTED,APPLIED", 1},
}

func TestReliabilityCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, tc := range relCrashCases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.protocol, tc.recovery, tc.step), func(t *testing.T) {
			relParallel(t)
			e := relNewEnv(t, tc.protocol)
			crashtest.RunUntilKilled(t, tc.step, relChildParams("crash", e.layout, tc.protocol, tc.recovery, ""))
			childRun := relRunOf(t, e)

			// The dead child's lease (1s) must expire before the recovery run
			// can lock; the runner waits for it.
			ctx := context.Background()
			rep, err := e.mustRunner(t, relPipeline(tc.protocol, tc.recovery, nil)).Run(ctx)
			issue := tc.action == flamingock.ActionIssue
			if issue != errors.Is(err, flamingock.ErrIssues) || (!issue && err != nil) {
				t.Fatalf("recovery run: %v (want an issue: %v)", err, issue)
			}
			if got := rep.Changes[0].Action; got != tc.action {
				t.Errorf("recovery run's action for one = %s (%s), want %s", got, rep.Changes[0].Reason, tc.action)
			}
			if got := e.history(t, "one"); got != tc.history {
				t.Errorf("history of one = %s, want %s", got, tc.history)
			}
			if got := e.effects(t, "one"); got != tc.effects {
				t.Errorf("one took effect %d times, want %d", got, tc.effects)
			}
			relCheckChildEntries(t, e, tc, childRun)
			if issue {
				// The issue blocks the stage: "two" must not have run.
				if got := e.effects(t, "two"); got != 0 {
					t.Errorf("two took effect %d times behind an issue, want 0", got)
				}
				relCheckIssue(t, e, err)
				relResolve(t, e, tc)
			} else if got := e.effects(t, "two"); got != 1 {
				t.Errorf("two took effect %d times, want 1", got)
			}
			e.checkConsistent(t)
		})
	}
}

// relRunOf returns the run id of the child, from the lock it left behind
// (expired or not), or "" if it never locked.
func relRunOf(t *testing.T, e *relEnv) string {
	t.Helper()
	li, err := e.store.LockInfo(context.Background())
	if err != nil {
		t.Fatalf("the killed child left no lease: %v", err)
	}
	return li.Owner.RunID
}

// relCheckChildEntries asserts that no entry the child wrote was lost:
// every protocol but the shared one appended STARTED first, and the child
// killed after recording its outcome wrote APPLIED too. Under the shared
// protocol a child killed before its COMMIT left nothing, by design.
func relCheckChildEntries(t *testing.T, e *relEnv, tc relCrashCase, childRun string) {
	t.Helper()
	var got []string
	for _, x := range e.entries(t, "one") {
		if x.RunID == childRun {
			got = append(got, string(x.State))
		}
	}
	var want []string
	if tc.protocol != "shared" {
		want = append(want, string(audit.Started))
	}
	if tc.step == "after-applied" || (tc.protocol == "shared" && tc.step == "after-commit") {
		want = append(want, string(audit.Applied))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries of one written by the killed child's run %s: %v, want %v", childRun, got, want)
	}
}

// relCheckIssue asserts the recovery run reported "one" as an issue left
// STARTED outside a transaction.
func relCheckIssue(t *testing.T, e *relEnv, err error) {
	t.Helper()
	issues, ok := errors.AsType[*flamingock.IssuesError](err)
	if !ok || len(issues.Issues) != 1 {
		t.Fatalf("recovery run: %v, want an *IssuesError with one issue", err)
	}
	is := issues.Issues[0].Latest
	if is.ChangeID != "one" || is.State != audit.Started || is.TxStrategy != audit.NonTx || !audit.IsIssue(is) {
		t.Errorf("issue: %s %s %s, want one STARTED NON_TX", is.ChangeID, is.State, is.TxStrategy)
	}
}

// relResolve does what an operator would after checking the target:
// "one" took effect, so mark it applied; it did not, so mark it rolled
// back. Then the next run finishes the pipeline, running "one" again only
// in the second case.
func relResolve(t *testing.T, e *relEnv, tc relCrashCase) {
	t.Helper()
	ctx := context.Background()
	res := flamingock.Resolution{ChangeID: "one", By: "reliability test", Reason: fmt.Sprintf("effects table has %d row(s) for one", tc.effects)}
	mark, final := flamingock.MarkApplied, tc.history+",MANUAL_MARKED_AS_APPLIED"
	if tc.effects == 0 {
		mark, final = flamingock.MarkRolledBack, tc.history+",MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED"
	}
	if _, err := mark(ctx, e.store, res); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mustRunner(t, relPipeline(tc.protocol, tc.recovery, nil)).Run(ctx); err != nil {
		t.Fatalf("run after the resolution: %v", err)
	}
	if got := e.history(t, "one"); got != final {
		t.Errorf("history of one after the resolution = %s, want %s", got, final)
	}
	if got := e.effects(t, "one"); got != 1 {
		t.Errorf("one took effect %d times after the resolution, want 1", got)
	}
	if got := e.effects(t, "two"); got != 1 {
		t.Errorf("two took effect %d times after the resolution, want 1", got)
	}
}

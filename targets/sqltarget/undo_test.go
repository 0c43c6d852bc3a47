package sqltarget_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// undoable adds a rollback to a change built by txChange or dbChange: it
// deletes the change's effect, through the transaction for a
// transactional change and the database handle otherwise, and calls the
// hooks "undo-begin" and "undo-end" around it. fail, when set, is returned
// after the delete.
func undoable(c flamingock.Change, h hooks, fail error) flamingock.Change {
	del := func(ctx context.Context, exec interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}) error {
		h.hit("undo-begin")
		if _, err := exec.ExecContext(ctx, `DELETE FROM effects WHERE change_id = ?`, c.ID); err != nil {
			return err
		}
		h.hit("undo-end")
		return fail
	}
	if c.Transactional {
		c.Rollback = flamingock.Func1[*sql.Tx](func(ctx context.Context, tx *sql.Tx) error { return del(ctx, tx) })
	} else {
		c.Rollback = flamingock.Func1[*sql.DB](func(ctx context.Context, db *sql.DB) error { return del(ctx, db) })
	}
	return c
}

// undoPipeline is three undoable changes under protocol ("shared",
// "separate" or "nontx"); h interrupts the rollback of "two" and
// rbFail makes it fail.
func undoPipeline(protocol string, h hooks, rbFail error) flamingock.Pipeline {
	mk := func(id, order string) flamingock.Change {
		hh, f := hooks{}, error(nil)
		if id == "two" {
			hh, f = h, rbFail
		}
		if protocol == "nontx" {
			return undoable(dbChange(id, order, flamingock.RecoveryManual, hooks{}, nil), hh, f)
		}
		return undoable(txChange(id, order, hooks{}, nil), hh, f)
	}
	return stage(mk("one", "1"), mk("two", "2"), mk("three", "3"))
}

var protocols = []struct {
	name     string
	shared   bool
	strategy audit.TxStrategy
	// applied and undone are the history a change leaves when applied, and
	// then undone, under the protocol.
	applied, undone string
}{
	{"shared", true, audit.TxShared, "APPLIED", "APPLIED,ROLLED_BACK"},
	{"separate", false, audit.TxSeparateWithMarker, "STARTED,APPLIED", "STARTED,APPLIED,STARTED,ROLLED_BACK"},
	{"nontx", false, audit.NonTx, "STARTED,APPLIED", "STARTED,APPLIED,STARTED,ROLLED_BACK"},
}

func TestUndoLastTwoThenRunReapplies(t *testing.T) {
	for _, pr := range protocols {
		t.Run(pr.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, pr.shared)
			p := undoPipeline(pr.name, hooks{}, nil)
			if _, err := e.runner(t, e.store, p).Run(ctx); err != nil {
				t.Fatal(err)
			}
			r := e.runner(t, e.store, p, flamingock.WithService("svc", "1"))
			plan, err := r.PlanUndo(ctx, flamingock.UndoOptions{Last: 2})
			if err != nil || len(plan.Refusals) != 0 {
				t.Fatalf("plan: %v %v", err, plan)
			}
			if got := ids(plan.Changes); got != "three,two" {
				t.Fatalf("plan undoes %s, want three,two", got)
			}
			if e.history(t, "two") != pr.applied {
				t.Fatal("PlanUndo wrote to the audit")
			}
			rep, err := r.Undo(ctx, flamingock.UndoOptions{Last: 2, Actor: "alice", Why: "bad release"})
			if err != nil {
				t.Fatal(err)
			}
			var done []string
			for _, c := range rep.Changes {
				if c.Action != flamingock.ActionUndo || c.State != audit.RolledBack || c.Protocol != pr.strategy {
					t.Errorf("result %+v", c)
				}
				done = append(done, c.ChangeID)
			}
			if strings.Join(done, ",") != "three,two" {
				t.Fatalf("undid %v, want three,two", done)
			}
			for id, want := range map[string]int{"one": 1, "two": 0, "three": 0} {
				if got := e.effects(t, id); got != want {
					t.Errorf("%s: %d effects after undo, want %d", id, got, want)
				}
			}
			if got := e.history(t, "two"); got != pr.undone {
				t.Errorf("history of two %s, want %s", got, pr.undone)
			}
			if got := e.history(t, "one"); got != pr.applied {
				t.Errorf("history of one %s, want %s", got, pr.applied)
			}
			l := e.latest(t, "two")
			if !l.IsUndo() || l.Reason != "undo: bad release" || l.Actor != "alice" || l.RunID != rep.RunID || l.CreatedAt.IsZero() {
				t.Errorf("undo entry %+v", l)
			}
			// Pending again: the next run applies both, in order.
			rep, err = e.runner(t, e.store, p).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Count(flamingock.ActionApply) != 2 {
				t.Errorf("re-run applied %d, want 2", rep.Count(flamingock.ActionApply))
			}
			for _, id := range []string{"one", "two", "three"} {
				if got := e.effects(t, id); got != 1 {
					t.Errorf("%s: %d effects after re-run, want 1", id, got)
				}
			}
			if got := e.history(t, "two"); got != pr.undone+","+pr.applied {
				t.Errorf("history of two %s, want %s", got, pr.undone+","+pr.applied)
			}
			if err := e.runner(t, e.store, p).Validate(ctx); err != nil {
				t.Errorf("after the re-run: %v", err)
			}
		})
	}
}

func ids(pcs []flamingock.PlannedChange) string {
	var out []string
	for _, pc := range pcs {
		out = append(out, pc.Change.ID)
	}
	return strings.Join(out, ",")
}

func TestUndoToKeepsTheTargetApplied(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true)
	p := undoPipeline("shared", hooks{}, nil)
	if _, err := e.runner(t, e.store, p).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.runner(t, e.store, p).Undo(ctx, flamingock.UndoOptions{To: "one"}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"one": 1, "two": 0, "three": 0} {
		if got := e.effects(t, id); got != want {
			t.Errorf("%s: %d effects, want %d", id, got, want)
		}
	}
	// Nothing applied after "one" any more: nothing to undo, no error.
	rep, err := e.runner(t, e.store, p).Undo(ctx, flamingock.UndoOptions{To: "one"})
	if err != nil || len(rep.Changes) != 0 {
		t.Fatalf("second undo: %v, %d changes", err, len(rep.Changes))
	}
}

// Every reason to refuse is listed, and nothing is touched.
func TestUndoRefusesListingEveryOffender(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	noRollback := txChange("plain", "4", hooks{}, nil)
	stuck := undoable(dbChange("stuck", "5", flamingock.RecoveryManual, hooks{}, errBoom), hooks{}, nil)
	stuck.Rollback = nil // fails without a rollback: FAILED outside a transaction, an issue
	p := undoPipeline("separate", hooks{}, nil)
	p[0].Changes = append(p[0].Changes, noRollback, stuck)
	if _, err := e.runner(t, e.store, p).Run(ctx); !errors.Is(err, flamingock.ErrIssues) && err == nil {
		t.Fatalf("setup run: %v", err)
	}
	// A change applied by a newer binary: the same pipeline plus one.
	newer := append(slices.Clone(p[0].Changes[:3]), undoable(txChange("newer", "9", hooks{}, nil), hooks{}, nil))
	if _, err := e.runner(t, e.store, stage(newer...)).Run(ctx); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, id := range []string{"one", "two", "three", "plain", "stuck", "newer"} {
		before[id] = e.history(t, id)
	}

	r := e.runner(t, e.store, p)
	_, err := r.Undo(ctx, flamingock.UndoOptions{To: "one"})
	var refused *flamingock.UndoRefusedError
	if !errors.As(err, &refused) || !errors.Is(err, flamingock.ErrUndoRefused) {
		t.Fatalf("got %v, want an UndoRefusedError", err)
	}
	wants := []string{`"newer" is APPLIED`, `changes/plain.go:1: change "plain" has no rollback`, `changes/stuck.go:1: change "stuck" is an issue (FAILED)`}
	if len(refused.Problems) != len(wants) {
		t.Errorf("problems %q, want %d", refused.Problems, len(wants))
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal does not say %q:\n%v", w, err)
		}
	}
	for id, h := range before {
		if got := e.history(t, id); got != h {
			t.Errorf("%s: history %s after a refused undo, was %s", id, got, h)
		}
	}
	if got := e.effects(t, "three"); got != 1 {
		t.Errorf("a refused undo rolled back three")
	}
	plan, err := r.PlanUndo(ctx, flamingock.UndoOptions{To: "one"})
	if err != nil || len(plan.Refusals) != len(wants) {
		t.Errorf("PlanUndo: %v, refusals %q", err, plan.Refusals)
	}
	if _, err := r.Undo(ctx, flamingock.UndoOptions{Last: 9}); err == nil || !strings.Contains(err.Error(), "--last 9: only 4 change(s) are applied") {
		t.Errorf("undo --last 9: %v", err)
	}
	if _, err := r.Undo(ctx, flamingock.UndoOptions{To: "nope"}); err == nil || !strings.Contains(err.Error(), `--to "nope": no change with this id`) {
		t.Errorf("undo --to nope: %v", err)
	}
	if _, err := r.Undo(ctx, flamingock.UndoOptions{}); err == nil {
		t.Error("undo with no range: no error")
	}
}

// A transactional rollback that fails is rolled back with its
// transaction: the change stays applied, and the attempt is in the
// history as APPLIED with the error.
func TestFailedTransactionalUndoLeavesTheChangeApplied(t *testing.T) {
	for _, pr := range protocols[:2] {
		t.Run(pr.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, pr.shared)
			if _, err := e.runner(t, e.store, undoPipeline(pr.name, hooks{}, nil)).Run(ctx); err != nil {
				t.Fatal(err)
			}
			p := undoPipeline(pr.name, hooks{}, errBoom)
			rep, err := e.runner(t, e.store, p).Undo(ctx, flamingock.UndoOptions{Last: 2})
			if !errors.Is(err, errBoom) {
				t.Fatalf("got %v", err)
			}
			if len(rep.Changes) != 2 || rep.Changes[0].State != audit.RolledBack || rep.Changes[1].State != audit.Applied {
				t.Fatalf("results %+v", rep.Changes)
			}
			if e.effects(t, "two") != 1 || e.effects(t, "three") != 0 {
				t.Errorf("effects two=%d three=%d", e.effects(t, "two"), e.effects(t, "three"))
			}
			l := e.latest(t, "two")
			if l.State != audit.Applied || !l.IsUndo() || !strings.Contains(l.Error, "boom") {
				t.Errorf("latest of two %+v", l)
			}
			rep, err = e.runner(t, e.store, p).Run(ctx)
			if err != nil || rep.Count(flamingock.ActionApply) != 1 || e.effects(t, "two") != 1 || e.effects(t, "three") != 1 {
				t.Errorf("re-run: %v applied %d, effects two=%d three=%d", err, rep.Count(flamingock.ActionApply), e.effects(t, "two"), e.effects(t, "three"))
			}
		})
	}
}

// A non-transactional rollback that fails leaves ROLLBACK_FAILED: the
// target may be half restored, an issue for an operator.
func TestFailedNonTransactionalUndoIsAnIssue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	if _, err := e.runner(t, e.store, undoPipeline("nontx", hooks{}, nil)).Run(ctx); err != nil {
		t.Fatal(err)
	}
	p := undoPipeline("nontx", hooks{}, errBoom)
	if _, err := e.runner(t, e.store, p).Undo(ctx, flamingock.UndoOptions{Last: 2}); !errors.Is(err, errBoom) {
		t.Fatalf("got %v", err)
	}
	if got := e.history(t, "two"); got != "STARTED,APPLIED,STARTED,ROLLBACK_FAILED" {
		t.Errorf("history %s", got)
	}
	if _, err := e.runner(t, e.store, p).Run(ctx); !errors.Is(err, flamingock.ErrIssues) {
		t.Errorf("run after a failed undo: %v, want an issue", err)
	}
	if _, err := e.runner(t, e.store, p).Undo(ctx, flamingock.UndoOptions{Last: 1}); !errors.Is(err, flamingock.ErrUndoRefused) {
		t.Errorf("undo across the issue: %v, want refused", err)
	}
}

// undoKillingStore passes every call to the SQLite store and dies before
// an undo of "two" records its ROLLED_BACK outside a transaction.
type undoKillingStore struct{ *sqlite.Store }

func (k undoKillingStore) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if e.ChangeID == "two" && e.State == audit.RolledBack && e.IsUndo() {
		crashtest.At("before-undone")
	}
	return k.Store.Append(ctx, e)
}

// undoChild undoes the last change ("three") and then "two" in a child
// process that dies at the step the test names.
func undoChild() int {
	ctx := context.Background()
	e, err := openEnv(ctx, crashtest.Param("AUDIT_DB"), crashtest.Param("TARGET_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	p := undoPipeline(crashtest.Param("PROTOCOL"), hooks{at: crashtest.At}, nil)
	r, err := flamingock.New(p, flamingock.WithAuditStore(undoKillingStore{e.store}), flamingock.WithTargets(e.target),
		flamingock.WithLockTTL(time.Second), flamingock.WithLockWait(30*time.Second),
		flamingock.WithListener(func(ev flamingock.Event) {
			if f, ok := ev.(flamingock.ChangeFinished); ok && f.Result.ChangeID == "two" {
				crashtest.At("after-undone")
			}
		}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if _, err := r.Undo(ctx, flamingock.UndoOptions{Last: 2}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// An undo killed at any step leaves a state the decision table covers:
// the next run ends with every change applied once, or, outside a
// transaction under recovery manual, with an issue.
func TestUndoCrashAtEveryStep(t *testing.T) {
	cases := []struct {
		protocol, killAt string
		history          string // of "two" after the recovery run
		effects          int    // of "two" after the recovery run
		issue            bool
	}{
		{"shared", "undo-begin", "APPLIED", 1, false},
		{"shared", "undo-end", "APPLIED", 1, false},
		{"shared", "after-undone", "APPLIED,ROLLED_BACK,APPLIED", 1, false},
		{"separate", "undo-begin", "STARTED,APPLIED,STARTED,APPLIED", 1, false},
		{"separate", "undo-end", "STARTED,APPLIED,STARTED,APPLIED", 1, false},
		{"separate", "before-undone", "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED", 1, false},
		{"separate", "after-undone", "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED", 1, false},
		{"nontx", "undo-begin", "STARTED,APPLIED,STARTED", 1, true},
		{"nontx", "undo-end", "STARTED,APPLIED,STARTED", 0, true},
		{"nontx", "before-undone", "STARTED,APPLIED,STARTED", 0, true},
		{"nontx", "after-undone", "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED", 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.protocol+"/"+tc.killAt, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			auditPath, targetPath := paths(t, tc.protocol == "shared")
			e, err := openEnv(ctx, auditPath, targetPath)
			if err != nil {
				t.Fatal(err)
			}
			p := undoPipeline(tc.protocol, hooks{}, nil)
			if _, err := e.runner(t, e.store, p).Run(ctx); err != nil {
				t.Fatal(err)
			}
			e.close()
			params := childParams(auditPath, targetPath, tc.protocol, "manual")
			params["MODE"] = "undo"
			crashtest.RunUntilKilled(t, tc.killAt, params)

			e, err = openEnv(ctx, auditPath, targetPath)
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			// The dead child's lease (1s) expires before the run can lock.
			_, err = e.runner(t, e.store, p).Run(ctx)
			if tc.issue != errors.Is(err, flamingock.ErrIssues) || (!tc.issue && err != nil) {
				t.Fatalf("recovery run: %v (want issue=%v)", err, tc.issue)
			}
			if got := e.history(t, "two"); got != tc.history {
				t.Errorf("history of two = %s, want %s", got, tc.history)
			}
			if got := e.effects(t, "two"); got != tc.effects {
				t.Errorf("two has %d effects, want %d", got, tc.effects)
			}
			// "three" was undone before "two" and is applied again
			// unless the issue on "two" blocks the stage.
			wantThree := 1
			if tc.issue {
				wantThree = 0
			}
			if got := e.effects(t, "three"); got != wantThree {
				t.Errorf("three has %d effects, want %d", got, wantThree)
			}
		})
	}
}

// undoRunChild undoes the last applied change and runs the pipeline, three
// times, as another process does the same.
func undoRunChild() int {
	ctx := context.Background()
	e, err := openEnv(ctx, crashtest.Param("AUDIT_DB"), crashtest.Param("TARGET_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer e.close()
	r, err := flamingock.New(undoPipeline(crashtest.Param("PROTOCOL"), hooks{}, nil), flamingock.WithAuditStore(e.store),
		flamingock.WithTargets(e.target), flamingock.WithLockWait(time.Minute))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	for range 3 {
		// Refused when the other processes undid everything meanwhile.
		if _, err := r.Undo(ctx, flamingock.UndoOptions{Last: 1}); err != nil && !errors.Is(err, flamingock.ErrUndoRefused) {
			fmt.Fprintln(os.Stderr, "undo:", err)
			return 1
		}
		if _, err := r.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			return 1
		}
	}
	return 0
}

// Processes that undo and run at the same time never interleave: every
// change's history alternates between applied and undone, and the target
// holds each change's effect exactly when the audit says it is applied.
func TestConcurrentUndoAndRunProcesses(t *testing.T) {
	for _, protocol := range []string{"shared", "separate", "nontx"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			auditPath, targetPath := paths(t, protocol == "shared")
			e, err := openEnv(ctx, auditPath, targetPath)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.runner(t, e.store, undoPipeline(protocol, hooks{}, nil)).Run(ctx); err != nil {
				t.Fatal(err)
			}
			e.close()
			var wg sync.WaitGroup
			outs := make([][]byte, 3)
			errs := make([]error, 3)
			for i := range 3 {
				params := childParams(auditPath, targetPath, protocol, "manual")
				params["MODE"] = "undo-run"
				wg.Go(func() { outs[i], errs[i] = crashtest.Command("", params).CombinedOutput() })
			}
			wg.Wait()
			for i := range 3 {
				if errs[i] != nil {
					t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
				}
			}
			e = newEnvAt(t, auditPath, targetPath)
			undos := 0
			for _, id := range []string{"one", "two", "three"} {
				applied := false
				for _, en := range audittestHistory(t, e, id) {
					switch {
					case en.State == audit.Applied:
						if applied {
							t.Errorf("%s: applied twice in a row (seq %d)", id, en.Seq)
						}
						applied = true
					case en.State == audit.RolledBack && en.IsUndo():
						if !applied {
							t.Errorf("%s: undone while not applied (seq %d)", id, en.Seq)
						}
						applied = false
						undos++
					case en.State != audit.Started:
						t.Errorf("%s: unexpected %s (seq %d)", id, en.State, en.Seq)
					}
				}
				if !applied || e.effects(t, id) != 1 {
					t.Errorf("%s: applied=%v in the audit, %d effects in the target", id, applied, e.effects(t, id))
				}
			}
			if undos == 0 {
				t.Error("no undo ran")
			}
		})
	}
}

func newEnvAt(t *testing.T, auditPath, targetPath string) *env {
	t.Helper()
	e, err := openEnv(context.Background(), auditPath, targetPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

func audittestHistory(t *testing.T, e *env, id string) []audit.Entry {
	t.Helper()
	h, err := e.store.History(context.Background(), audit.HistoryQuery{ChangeID: id})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

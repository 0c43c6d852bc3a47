package pgtarget_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// relConnKilled reports whether err says the server terminated the
// connection (pg_terminate_backend: SQLSTATE 57P01, admin_shutdown).
func relConnKilled(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == "57P01"
}

// relTerminate ends the given backends and waits until they are gone.
func relTerminate(t *testing.T, admin *pgx.Conn, pids []int32) {
	t.Helper()
	if len(pids) == 0 {
		t.Fatal("no backend to terminate")
	}
	for _, pid := range pids {
		var ok bool
		if err := admin.QueryRow(context.Background(), "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d): %v, %v", pid, ok, err)
		}
	}
}

// The database connection a run depends on is terminated while change
// "one" runs (in-process: the change reports its backend pid and waits
// while the test kills it). The run fails with a RunError that carries
// the server's error; the next run, on the same pools, recovers by the
// decision table; the store stays consistent.
func TestReliabilityConnectionKilled(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		protocol string
		recovery flamingock.Recovery
		step     string
		// audit: kill the audit store's connections instead of the change's.
		audit bool
		// state is what the failed run's RunError says the trail holds.
		state audit.State
		// action, history and effects: the next run's decision for "one",
		// its history after that run, its effects in the target.
		action  flamingock.Action
		history string
		effects int
	}{
		// The change's own transaction dies before its write: FAILED, and the
		// next run applies it.
		{"shared/before-write", "shared", "manual", "apply-begin", false, audit.Failed, flamingock.ActionApply, "FAILED,APPLIED", 1},
		// ... after its write: the APPLIED append and COMMIT meet a dead
		// connection; nothing committed.
		{"shared/before-commit", "shared", "manual", "apply-end", false, audit.Failed, flamingock.ActionApply, "FAILED,APPLIED", 1},
		{"separate/before-marker", "separate", "manual", "apply-end", false, audit.Failed, flamingock.ActionApply, "STARTED,FAILED,STARTED,APPLIED", 1},
		// The audit store's connection dies while the change runs: the target
		// commits, APPLIED cannot be written; the marker proves the commit.
		{"separate/audit-connection", "separate", "manual", "apply-end", true, audit.Started, flamingock.ActionRecordApplied, "STARTED,APPLIED", 1},
		// Outside a transaction, a failed change with manual recovery is an
		// issue; with retry it is applied again.
		{"nontx/manual", "nontx", "manual", "apply-begin", false, audit.Failed, flamingock.ActionIssue, "STARTED,FAILED", 0},
		{"nontx/retry", "nontx", "retry", "apply-begin", false, audit.Failed, flamingock.ActionApply, "STARTED,FAILED,STARTED,APPLIED", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			relParallel(t)
			e := relNewEnv(t, tc.protocol, func(c *pgxpool.Config) {
				// A terminated idle connection must be used, and fail, rather
				// than be replaced by the pool's liveness check.
				c.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
				if tc.audit {
					c.MaxConns = 1 // the audit store's only connection is the one killed
				}
			})
			ctx := context.Background()
			admin, err := pgx.Connect(ctx, e.layout.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close(ctx)

			pids := make(chan []int32, 1)
			resume := make(chan struct{})
			hook := func(ctx context.Context, change, step string, db relDB) error {
				if change != "one" || step != tc.step {
					return nil
				}
				var victims []int32
				if tc.audit {
					rows, _ := admin.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", relAppName("audit", e.layout.AuditSchema))
					var err error
					if victims, err = pgx.CollectRows(rows, pgx.RowTo[int32]); err != nil {
						return err
					}
				} else {
					var pid int32
					if err := db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
						return err
					}
					victims = []int32{pid}
				}
				pids <- victims
				<-resume
				return nil
			}
			type result struct {
				rep *flamingock.Report
				err error
			}
			done := make(chan result, 1)
			r := e.mustRunner(t, relPipeline(tc.protocol, tc.recovery, hook))
			go func() {
				rep, err := r.Run(ctx)
				done <- result{rep, err}
			}()
			select {
			case victims := <-pids:
				relTerminate(t, admin, victims)
				close(resume)
			case res := <-done:
				t.Fatalf("run ended before reaching %s: %v", tc.step, res.err)
			case <-time.After(30 * time.Second):
				t.Fatalf("change one did not reach %s", tc.step)
			}
			var res result
			select {
			case res = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the run did not end after its connection was killed")
			}

			runErr, ok := errors.AsType[*flamingock.RunError](res.err)
			if !ok || runErr.ChangeID != "one" {
				t.Fatalf("run: %v, want a *RunError for change one", res.err)
			}
			t.Logf("run error: %v", runErr)
			field, cause := "Apply", runErr.Apply
			if tc.audit {
				field, cause = "Audit", runErr.Audit
			}
			if !relConnKilled(cause) {
				t.Errorf("RunError.%s = %v, want the server's admin_shutdown error (SQLSTATE 57P01)", field, cause)
			}
			if runErr.State != tc.state {
				t.Errorf("RunError.State = %s, want %s", runErr.State, tc.state)
			}
			if got := e.effects(t, "two"); got != 0 {
				t.Errorf("two ran after the failure (%d effects)", got)
			}

			rep, err := e.mustRunner(t, relPipeline(tc.protocol, tc.recovery, nil)).Run(ctx)
			issue := tc.action == flamingock.ActionIssue
			if issue != errors.Is(err, flamingock.ErrIssues) || (!issue && err != nil) {
				t.Fatalf("next run: %v (want an issue: %v)", err, issue)
			}
			if got := rep.Changes[0].Action; got != tc.action {
				t.Errorf("next run's action for one = %s (%s), want %s", got, rep.Changes[0].Reason, tc.action)
			}
			if got := e.history(t, "one"); got != tc.history {
				t.Errorf("history of one = %s, want %s", got, tc.history)
			}
			if got := e.effects(t, "one"); got != tc.effects {
				t.Errorf("one took effect %d times, want %d", got, tc.effects)
			}
			wantTwo := 1
			if issue {
				wantTwo = 0
			}
			if got := e.effects(t, "two"); got != wantTwo {
				t.Errorf("two took effect %d times, want %d", got, wantTwo)
			}
			e.checkConsistent(t)
		})
	}
}

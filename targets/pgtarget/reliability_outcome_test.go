package pgtarget_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// The audit store's connections are terminated while a non-transactional
// change runs: its effect is in the target, and the first try to record
// APPLIED meets a dead connection. The run retries with a new connection,
// so APPLIED is recorded and no issue is left for an outcome the run knew.
func TestReliabilityAppliedRecordedAfterTheAuditConnectionDies(t *testing.T) {
	relParallel(t)
	e := relNewEnv(t, "nontx", func(c *pgxpool.Config) {
		// The terminated connection must be used, and fail, rather than be
		// replaced by the pool's liveness check.
		c.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
		c.MaxConns = 1
	})
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, e.layout.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	hook := func(ctx context.Context, change, step string, _ relDB) error {
		if change != "one" || step != crashtest.ApplyEnd {
			return nil
		}
		rows, _ := admin.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", relAppName("audit", e.layout.AuditSchema))
		victims, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		relTerminate(t, admin, victims)
		return nil
	}
	rep, err := e.mustRunner(t, relPipeline("nontx", flamingock.RecoveryManual, hook)).Run(ctx)
	if err != nil {
		t.Fatalf("run: %v, want APPLIED recorded on a retry", err)
	}
	if got := rep.Changes[0].State; got != audit.Applied {
		t.Errorf("one: recorded %s, want APPLIED", got)
	}
	if got := e.history(t, "one"); got != "STARTED,APPLIED" {
		t.Errorf("history of one = %s, want STARTED,APPLIED", got)
	}
	if got := e.effects(t, "one") + e.effects(t, "two"); got != 2 {
		t.Errorf("effects of one and two: %d, want 2", got)
	}
	e.checkConsistent(t)
}

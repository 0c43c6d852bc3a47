package runtime_test

import (
	"context"
	"testing"

	"github.com/flamingock/flamingock-go/audit/memory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// maxAllocsPerChange is the runtime's allocation budget per applied change
// on the in-memory store (issue 17): the runner's own work plus the store's
// two appends. Allocation counts are deterministic, so CI can hold the line
// where a timing could not.
const maxAllocsPerChange = 20

// TestAllocationsPerChange applies pipelines of 10 and 110 no-op changes
// to a fresh in-memory store and checks the allocations per change: the
// difference of the two runs divided by the 100 extra changes, so the
// run's fixed cost (lock, plan, report) cancels out.
func TestAllocationsPerChange(t *testing.T) {
	ctx := context.Background()
	allocs := func(n int) float64 {
		p := noopPipeline(n)
		var err error
		got := testing.AllocsPerRun(20, func() {
			var r *flamingock.Runner
			if r, err = flamingock.New(p, flamingock.WithAuditStore(memory.New()), quiet); err != nil {
				return
			}
			var rep *flamingock.Report
			if rep, err = r.Run(ctx); err == nil && len(rep.Changes) != n {
				t.Errorf("run reported %d changes, want %d", len(rep.Changes), n)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	small, large := allocs(10), allocs(110)
	perChange := (large - small) / 100
	t.Logf("allocations: %.0f for 10 changes, %.0f for 110: %.1f per change", small, large, perChange)
	if perChange > maxAllocsPerChange {
		t.Errorf("allocations per applied change: %.1f, want at most %d", perChange, maxAllocsPerChange)
	}
}

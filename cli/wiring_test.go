package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/cli"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// TestPlanStatusValidateReportUnwiredChanges: a change whose target is not
// registered is reported by plan, status and validate, with the registered
// name it was probably meant to be, not first by apply.
func TestPlanStatusValidateReportUnwiredChanges(t *testing.T) {
	store, _ := openSQLite(t)
	w := newWorkshop(t)
	misnamed := flamingock.NewDependencyTarget("file", w.root)
	runner, err := flamingock.New(w.pipeline(), flamingock.WithAuditStore(store), flamingock.WithTargets(misnamed))
	if err != nil {
		t.Fatal(err)
	}
	app := func() *cobra.Command { return cli.Command(runner, cli.WithLocation(testZone)) }
	for _, cmd := range []string{"plan", "status"} {
		r := expect(t, execute(t, app, cmd), 0)
		if !strings.Contains(r.stdout, "Apply would refuse to start: 3 change(s) cannot be wired") || !strings.Contains(r.stdout, `target "files" is not registered (use WithTargets); did you mean "file"?`) {
			t.Errorf("%s should name the unregistered target and the near one:\n%s", cmd, r)
		}
	}
	// Without its target the protocol is unknown: "?", not NON_TX.
	r := expect(t, execute(t, app, "plan"), 0)
	if strings.Contains(r.stdout, "NON_TX") || !strings.Contains(collapse(r.stdout), "seed-users  apply  ?  ") {
		t.Errorf("plan should show the protocol of an unwired change as ?:\n%s", r)
	}
	r = expect(t, execute(t, app, "plan", "--json"), 0)
	var plan struct {
		Changes []struct {
			Protocol string `json:"protocol"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.Protocol != "" {
			t.Errorf("plan --json protocol = %q for an unwired change, want empty", c.Protocol)
		}
	}
	r = expect(t, execute(t, app, "validate"), 1)
	if !strings.Contains(r.stderr, "3 change(s) cannot be wired") {
		t.Errorf("validate should fail on unwired changes:\n%s", r)
	}
	r = expect(t, execute(t, app, "status", "--json"), 0)
	var doc struct {
		Wiring []string `json:"wiring"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Wiring) != 3 {
		t.Errorf("status --json wiring = %q, want 3 problems", doc.Wiring)
	}
}

// TestStatusJSONAgreesWithItself: with an issue and nothing that could run,
// "pending" is false as counts.pending is 0, and "up_to_date" is false.
func TestStatusJSONAgreesWithItself(t *testing.T) {
	store, _ := openSQLite(t)
	w := newWorkshop(t)
	runner := w.runner(t, store)
	app := func() *cobra.Command { return cli.Command(runner, cli.WithLocation(testZone)) }
	w.failApply.Store(true)
	w.failRollback.Store(true)
	expect(t, execute(t, app, "apply"), 1)
	r := expect(t, execute(t, app, "status", "--json"), 0)
	var doc struct {
		UpToDate bool           `json:"up_to_date"`
		Pending  bool           `json:"pending"`
		Counts   map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Pending != (doc.Counts["pending"] > 0) || doc.UpToDate || doc.Counts["issue"] != 1 {
		t.Errorf("status --json disagrees with itself: pending=%v up_to_date=%v counts=%v", doc.Pending, doc.UpToDate, doc.Counts)
	}
}

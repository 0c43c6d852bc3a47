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
	misnamed := flamingock.NewDependencyTarget("file", func(d *flamingock.Deps) { flamingock.Provide(d, w.root) })
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
	r := expect(t, execute(t, app, "validate"), 1)
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

// TestAuditListStageAndLimit: --stage takes the full package path or its
// last element, --limit keeps the most recent entries, and a misspelt stage
// or state gets a "did you mean".
func TestAuditListStageAndLimit(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	ops := standalone(url)
	changes := func(args ...string) []string {
		t.Helper()
		r := expect(t, execute(t, ops, append([]string{"audit", "list", "--json"}, args...)...), 0)
		var doc struct {
			Entries []struct {
				ChangeID string `json:"change_id"`
				State    string `json:"state"`
			} `json:"entries"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range doc.Entries {
			out = append(out, e.ChangeID+":"+e.State)
		}
		return out
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--stage", "users"}, "seed-users:APPLIED,index-users:APPLIED"},
		{[]string{"--stage", "example.com/app/changes/config"}, "write-settings:APPLIED"},
		{[]string{"--history", "--limit", "2"}, "index-users:STARTED,index-users:APPLIED"},
		{[]string{"--history", "--stage", "users", "--limit", "3"}, "seed-users:APPLIED,index-users:STARTED,index-users:APPLIED"},
	} {
		if got := strings.Join(changes(c.args...), ","); got != c.want {
			t.Errorf("audit list %v = %s, want %s", c.args, got, c.want)
		}
	}
	r := expect(t, execute(t, ops, "audit", "list", "--stage", "usres"), cli.ExitUsage)
	if !strings.Contains(r.stderr, `did you mean "users"?`) {
		t.Errorf("a misspelt stage should get a suggestion:\n%s", r)
	}
	r = expect(t, execute(t, ops, "audit", "list", "--state", "aplied"), cli.ExitUsage)
	if !strings.Contains(r.stderr, "did you mean APPLIED?") {
		t.Errorf("a misspelt state should get a suggestion:\n%s", r)
	}
	r = expect(t, execute(t, ops, "audit", "list", "--history", "--change", "seed-user"), cli.ExitUsage)
	if !strings.Contains(r.stderr, `did you mean "seed-users"?`) {
		t.Errorf("a misspelt change id should get a suggestion:\n%s", r)
	}
	r = expect(t, execute(t, ops, "audit", "list", "--change", "something-else-entirely"), 0)
	if !strings.Contains(r.stdout, "No audit entries match") {
		t.Errorf("an unknown id with nothing near is just no match:\n%s", r)
	}
	expect(t, execute(t, ops, "audit", "list", "--limit", "-1"), cli.ExitUsage)
}

// TestStandaloneSaysWhereAppCommandsLive: asked for a command that needs
// the application's pipeline, the standalone binary says where it lives.
func TestStandaloneSaysWhereAppCommandsLive(t *testing.T) {
	for _, name := range []string{"plan", "apply", "validate", "status"} {
		r := expect(t, execute(t, standalone(""), name, "--json"), cli.ExitUsage)
		if !strings.Contains(r.stderr, name+" needs the application's pipeline") || !strings.Contains(r.stderr, "mounted in your binary") {
			t.Errorf("flamingock %s:\n%s", name, r)
		}
	}
	r := expect(t, execute(t, standalone(""), "--help"), 0)
	if strings.Contains(r.stdout, "status") {
		t.Errorf("help should not list the app-only commands:\n%s", r)
	}
}

// TestEveryHelpHasExamples: every command's help has an Examples section
// naming the command as invoked, mounted or not.
func TestEveryHelpHasExamples(t *testing.T) {
	store, _ := openSQLite(t)
	runner := newWorkshop(t).runner(t, store)
	mounted := func() *cobra.Command {
		root := &cobra.Command{Use: "shop"}
		root.AddCommand(cli.Command(runner))
		return root
	}
	for _, tree := range []struct {
		build  func() *cobra.Command
		prefix []string
		prog   string
	}{
		{mounted, []string{"flamingock"}, "shop flamingock"},
		{standalone(""), nil, "flamingock"},
	} {
		var visit func(c *cobra.Command, path []string)
		visit = func(c *cobra.Command, path []string) {
			if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
				return
			}
			r := expect(t, execute(t, tree.build, append(append(append([]string{}, tree.prefix...), path...), "--help")...), 0)
			if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "  "+tree.prog+" ") || strings.Contains(r.stdout, "PROG") {
				t.Errorf("%s %s --help has no examples naming %q:\n%s", tree.prog, strings.Join(path, " "), tree.prog, r)
			}
			for _, sub := range c.Commands() {
				visit(sub, append(append([]string{}, path...), sub.Name()))
			}
		}
		root := tree.build()
		if tree.prefix != nil {
			root, _, _ = root.Find(tree.prefix)
		}
		visit(root, nil)
	}
}

// TestShellCompletion: the shell completes change ids and stages from the
// store, and states and resolutions from their sets.
func TestShellCompletion(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	complete := func(args ...string) string {
		t.Helper()
		r := expect(t, execute(t, standalone(url), append([]string{"__complete"}, args...)...), 0)
		return r.stdout
	}
	for _, c := range []struct {
		args []string
		want []string
		not  string
	}{
		{[]string{"audit", "list", "--change", "se"}, []string{"seed-users"}, "index-users"},
		{[]string{"issue", "get", "--change", ""}, []string{"index-users", "seed-users", "write-settings"}, ""},
		{[]string{"audit", "list", "--stage", "u"}, []string{"users"}, "config"},
		{[]string{"audit", "list", "--state", "ROLL"}, []string{"ROLLED_BACK", "ROLLBACK_FAILED"}, "APPLIED"},
		{[]string{"audit", "fix", "--resolution", ""}, []string{"applied", "rolled-back"}, ""},
	} {
		got := complete(c.args...)
		for _, w := range c.want {
			if !strings.Contains(got, w+"\n") {
				t.Errorf("completing %v: want %q in\n%s", c.args, w, got)
			}
		}
		if c.not != "" && strings.Contains(got, c.not) {
			t.Errorf("completing %v: %q should not be offered:\n%s", c.args, c.not, got)
		}
	}
}

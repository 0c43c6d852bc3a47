package cli_test

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/cli"
)

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
	if strings.Contains(r.stdout, "\n  status ") || strings.Contains(r.stdout, "\n  plan ") {
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

package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Examples sections of the help texts, by command path
// below the root ("" is the root). PROG stands for the command as the user
// invokes it ("flamingock", or "myapp flamingock" when mounted), filled in
// when help is shown: the tree may be mounted after it is built.
var examples = map[string]string{
	"": `  PROG issue list                       # what needs a human, exit 1 if anything
  PROG audit list --history --limit 20  # the last 20 entries of the audit trail
  PROG lock show                        # who holds the run lock`,
	"plan": `  PROG plan                # what apply would do, change by change
  PROG plan -o wide        # with full stage paths and reasons
  PROG plan --json | jq '.changes[] | select(.action != "skip")'
  PROG plan --undo --last 2  # what undo --last 2 would roll back, or why it would refuse`,
	"undo": `  PROG undo --last 1                         # lists the change, asks, then rolls it back
  PROG undo --to add-orders-index --yes --reason "release 42 reverted"
  PROG undo --last 2 --yes --json | jq '.results[].state'`,
	"apply": `  PROG apply              # apply the pending changes now
  PROG apply --json       # the run's report as JSON`,
	"validate": `  PROG validate && deploy-next-step   # in a pipeline: exit 1 while anything is pending
  PROG validate --json | jq .pending`,
	"status": `  PROG status
  PROG status --json | jq '.counts'`,
	"audit": `  PROG audit list
  PROG audit fix --change seed-users --resolution rolled-back --reason "users.txt removed by hand"`,
	"audit list": `  PROG audit list                                   # the latest entry of every change
  PROG audit list --history --change seed-users     # every entry of one change
  PROG audit list --history --since 24h --state FAILED
  PROG audit list --stage billing --limit 10 -o wide`,
	"audit fix": `  # every effect of the change is in place: the next run skips it
  PROG audit fix --change seed-users --resolution applied --reason "both users present in users.txt"
  # none of its effects is in place: the next run applies it again
  PROG audit fix --change seed-users --resolution rolled-back --reason "users.txt removed by hand"`,
	"issue": `  PROG issue list
  PROG issue get --change seed-users`,
	"issue list": `  PROG issue list          # exit 1 when any change needs a human
  PROG issue list --json | jq -r '.issues[].change_id'`,
	"issue get": `  PROG issue get --change seed-users   # what happened, what to check, what to record`,
	"lock": `  PROG lock show
  PROG lock release --force`,
	"lock show":    `  PROG lock show --json`,
	"version":      `  PROG version             # flamingock-go version and commit, the application's, Go's`,
	"lock release": "  PROG lock release --force                  # an expired lease whose holder is gone\n  PROG lock release --force --even-if-valid  # a valid lease of a process you know is dead",
}

// addExamples sets the Examples of every command of the tree under root and
// makes help show them with PROG replaced by the command path as invoked.
func (e *env) addExamples(root *cobra.Command) {
	var walk func(c *cobra.Command, rel string)
	walk = func(c *cobra.Command, rel string) {
		if ex, ok := examples[rel]; ok && !c.Hidden {
			c.Example = ex
		}
		for _, sub := range c.Commands() {
			walk(sub, strings.TrimSpace(rel+" "+sub.Name()))
		}
	}
	walk(root, "")
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if strings.Contains(c.Example, "PROG") {
			c.Example = strings.ReplaceAll(c.Example, "PROG", e.prog())
		}
		help(c, args)
	})
}

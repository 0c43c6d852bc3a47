package cli

import (
	"path"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
)

// addCompletions makes the shell complete the values of the flags every
// command shares by name: --change and --stage from the audit store (and,
// mounted, the pipeline), --state and --resolution from their fixed sets.
// Cobra's completion command (`completion bash|zsh|fish|powershell`)
// writes the script that asks for them.
func (e *env) addCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, complete := range map[string]cobra.CompletionFunc{
			"change":     e.completeFromStore(func(en audit.Entry) string { return en.ChangeID }),
			"stage":      e.completeFromStore(func(en audit.Entry) string { return path.Base(en.Stage) }),
			"state":      fixed(statesList()),
			"resolution": fixed("applied, rolled-back"),
		} {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, complete)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func fixed(list string) cobra.CompletionFunc {
	values := strings.Split(list, ", ")
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return matching(values, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFromStore completes with a field of the latest audit entries,
// plus, mounted, the pipeline's change ids (changes that never ran).
func (e *env) completeFromStore(field func(audit.Entry) string) cobra.CompletionFunc {
	return func(c *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		var values []string
		if e.runner != nil {
			for _, s := range e.runner.Pipeline() {
				for _, ch := range s.Changes {
					values = append(values, field(audit.Entry{ChangeID: ch.ID, Stage: s.Name}))
				}
			}
		}
		if store, done, err := e.openStore(c.Context()); err == nil {
			if snap, err := store.Snapshot(c.Context()); err == nil {
				for _, en := range snap {
					values = append(values, field(en))
				}
			}
			done()
		}
		slices.Sort(values)
		return matching(slices.Compact(values), prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

func matching(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(strings.ToLower(v), strings.ToLower(prefix)) {
			out = append(out, v)
		}
	}
	return out
}

package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cliout"
)

func (e *env) issueCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "issue",
		Short: "List and explain the changes that need a human",
		Long: "An issue is a change whose last attempt ran outside a transaction, under recovery \"manual\",\n" +
			"and did not finish cleanly (STARTED, FAILED or ROLLBACK_FAILED), or whose latest entry has a\n" +
			"state this version does not know: the target may hold part of it. A STARTED entry whose run\n" +
			"still holds the run lock is running, not an issue. An issue's stage, and every later stage,\n" +
			"stays blocked until an operator records a resolution with `audit fix`.",
	}
	group(c)
	c.AddCommand(e.issueListCmd(), e.issueGetCmd())
	return c
}

func (e *env) issueListCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List the changes that need a human (exit 1 when there are any) and those running now",
		Args:  noArgs,
	}
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		store, done, err := e.openStore(c.Context())
		if err != nil {
			return err
		}
		defer done()
		// The runner blocks exactly the changes the view calls issues.
		v, err := audit.ReadView(c.Context(), store)
		if err != nil {
			return err
		}
		list, running := v.Issues(), v.Running()
		if o.json {
			doc := issueListJSON{SchemaVersion: SchemaVersion, Issues: []issueJSON{}, Running: []issueJSON{}}
			for _, en := range list {
				doc.Issues = append(doc.Issues, toIssueJSON(en, o))
			}
			for _, en := range running {
				doc.Running = append(doc.Running, toIssueJSON(en, o))
			}
			if err := o.writeJSON(doc); err != nil {
				return err
			}
		} else if len(list) == 0 {
			o.printf("No issues: no change needs manual intervention.\n")
		} else {
			t := cliout.NewTable("CHANGE", "STAGE", "STATE", "SINCE", "RUN", "HOST", "WHAT HAPPENED")
			t.Mark(cliout.Whole, "STATE", "SINCE")
			t.Mark(cliout.Free, "HOST", "WHAT HAPPENED")
			for _, en := range list {
				t.Row(cliout.C(en.ChangeID), cliout.C(en.Stage), stateCell(en, true), cliout.C(cliout.Age(en.CreatedAt, o.now)),
					cliout.C(shortRun(en.RunID)), cliout.C(fmt.Sprintf("%s:%d", en.Host, en.PID)), cliout.C(summary(en.State)))
			}
			if err := o.table(t); err != nil {
				return err
			}
			o.printf("\nExplain one with `%s issue get --change ID`, then record what you find with `%s audit fix`.\n", e.prog(), e.prog())
		}
		if !o.json {
			for _, en := range running {
				l := v.RunningLease(en)
				o.printf("Running, not an issue: %s (run %s on %s, pid %d, holds the run lock until %s).\n",
					en.ChangeID, shortRun(en.RunID), en.Host, en.PID, o.time(l.ExpiresAt))
			}
		}
		if len(list) > 0 {
			return fmt.Errorf("%d change(s) need manual intervention; their stages and every later stage are blocked", len(list))
		}
		return nil
	})
	return c
}

func (e *env) issueGetCmd() *cobra.Command {
	var change string
	c := &cobra.Command{
		Use:   "get",
		Short: "Explain one issue: what happened, what to check, which resolution to record",
		Args:  noArgs,
	}
	c.Flags().StringVar(&change, "change", "", "the change `ID` (required)")
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		if err := required(c, "change"); err != nil {
			return err
		}
		store, done, err := e.openStore(c.Context())
		if err != nil {
			return err
		}
		defer done()
		v, err := audit.ReadView(c.Context(), store)
		if err != nil {
			return err
		}
		en, ok := v.Snapshot[change]
		if !ok {
			if err := misspeltChange(change, v.Snapshot); err != nil {
				return err
			}
			return fmt.Errorf("the audit store has no entry for change %q: check the id (`%s audit list` shows the changes it knows)", change, e.prog())
		}
		if l := v.RunningLease(en); l != nil {
			return fmt.Errorf("change %q has no issue: it is running in run %s on %s (pid %d), which holds the run lock until %s", change, en.RunID, en.Host, en.PID, o.time(l.ExpiresAt))
		}
		if v.Standing(en) != audit.StandingIssue {
			return fmt.Errorf("change %q has no issue: its latest state is %s (%s, recovery %s, %s), which the next run handles by itself", change, en.State, en.TxStrategy, en.Recovery, cliout.Age(en.CreatedAt, o.now))
		}
		history, err := store.History(c.Context(), audit.HistoryQuery{ChangeID: change})
		if err != nil {
			return fmt.Errorf("reading the history of %q: %w", change, err)
		}
		g := explain(en, e.prog(), o)
		if o.json {
			return o.writeJSON(issueGetJSON{SchemaVersion: SchemaVersion, Issue: toIssueJSON(en, o), WhatHappened: g.what,
				Check: g.check, Resolutions: g.resolutions, History: toEntriesJSON(history, &v, o.loc)})
		}
		writeIssue(o, en, g, history, &v)
		return nil
	})
	return c
}

func toIssueJSON(en audit.Entry, o *out) issueJSON {
	applyErr, rbErr := splitErrors(en)
	return issueJSON{
		ChangeID: en.ChangeID, Stage: en.Stage, State: en.State, Summary: summary(en.State),
		CreatedAt: cliout.JSONTime(en.CreatedAt, o.loc), AgeSeconds: int64(o.now.Sub(en.CreatedAt) / time.Second),
		RunID: en.RunID, Host: en.Host, PID: en.PID, TargetID: en.TargetID,
		Error: en.Error, ApplyError: applyErr, RollbackError: rbErr,
	}
}

// splitErrors separates the two errors the runtime keeps for
// ROLLBACK_FAILED ("apply: X; rollback: Y"). Other states have one error,
// the change's own.
func splitErrors(en audit.Entry) (apply, rollback string) {
	if en.State == audit.RollbackFailed {
		if a, r, ok := strings.Cut(en.Error, "; rollback: "); ok {
			return strings.TrimPrefix(a, "apply: "), r
		}
	}
	return en.Error, ""
}

// summary says in a few words what an issue's state means.
func summary(s audit.State) string {
	switch s {
	case audit.Started:
		return "interrupted: the process died or lost the lock mid-change"
	case audit.Failed:
		return "failed without a rollback: its partial effects remain"
	case audit.RollbackFailed:
		return "failed, and its rollback failed too"
	}
	if !s.Valid() {
		return "unknown state: nothing tells what the attempt did"
	}
	return string(s)
}

// guidance is what issue get tells the operator.
type guidance struct {
	what        string
	check       []string
	resolutions []resolutionJSON
}

func explain(en audit.Entry, prog string, o *out) guidance {
	target := en.TargetID
	if target == "" {
		target = "default"
	}
	where := fmt.Sprintf("run %s on host %s (pid %d), %s", en.RunID, en.Host, en.PID, cliout.Age(en.CreatedAt, o.now))
	var g guidance
	switch {
	case en.IsUndo() && (en.State == audit.Started || en.State == audit.RollbackFailed):
		g.what = fmt.Sprintf("An undo (%s) ran the change's rollback function in %s outside a transaction, and it did not finish: the process died or lost the lock (%s), or the rollback failed. Target %q may still hold every effect of the change, some of them, or none.", en.Reason, where, en.State, target)
		g.check = []string{
			fmt.Sprintf("Make sure that undo is over: `%s lock show` shows no valid lease of run %s.", prog, en.RunID),
			"Read the rollback's error, if any, in the history below.",
			fmt.Sprintf("Inspect target %q for each effect of the change's apply function (stage %s): which are still in place?", target, en.Stage),
		}
	case en.State == audit.Started:
		g.what = fmt.Sprintf("The change started in %s, and no outcome was ever recorded: the process was killed, crashed, or lost the run lock while the change was running. It ran outside a transaction, so it may not have run at all, may be partly applied, or may be fully applied in target %q.", where, target)
		g.check = []string{
			fmt.Sprintf("Make sure that run is over: pid %d on %s is gone, and `%s lock show` shows no valid lease of run %s. A live process would still be changing the target.", en.PID, en.Host, prog, en.RunID),
			fmt.Sprintf("Inspect target %q for each effect of the change's apply function (stage %s): which of them are in place?", target, en.Stage),
			fmt.Sprintf("Read the application's logs of run %s around %s.", en.RunID, o.time(en.CreatedAt)),
		}
	case en.State == audit.Failed:
		g.what = fmt.Sprintf("The change returned an error in %s. It ran outside a transaction and declares no rollback, so whatever it did before the error is still in target %q.", where, target)
		g.check = []string{
			"Read the error, and find in the change's apply function how far it got before failing.",
			fmt.Sprintf("Inspect target %q for the effects made before the failure.", target),
		}
	case en.State == audit.RollbackFailed:
		g.what = fmt.Sprintf("The change failed in %s, then its rollback function failed too. Target %q may hold part of the change and part of the rollback.", where, target)
		g.check = []string{
			"Read both errors: the change's, then the rollback's.",
			fmt.Sprintf("Inspect target %q for the effects of the apply function and of the rollback function: which are in place?", target),
		}
	default:
		g.what = fmt.Sprintf("The latest entry of the change (seq %d, %s) has the state %q, which this version of flamingock-go does not know: it was written by a newer version, or edited or damaged in the store. Nothing tells whether the attempt ran, so no run skips the change or applies it again.", en.Seq, where, en.State)
		g.check = []string{
			fmt.Sprintf("Read the change's history below and the audit store's row of seq %d: who wrote it, and was it edited?", en.Seq),
			fmt.Sprintf("Inspect target %q for each effect of the change's apply function (stage %s): which of them are in place?", target, en.Stage),
		}
	}
	g.check = append(g.check, "If the change is partly applied, finish it or undo it by hand first, then record which.")
	cmd := func(res string) string {
		return fmt.Sprintf("%s audit fix --change %s --resolution %s --reason %q", prog, en.ChangeID, res, "what you checked or did")
	}
	g.resolutions = []resolutionJSON{
		{Resolution: "applied", When: "every effect of the change is in place (done by the run, or completed by hand)",
			Effect: "the next run skips the change", Command: cmd("applied")},
		{Resolution: "rolled-back", When: "none of its effects is in place (never done, or undone by hand)",
			Effect: "the next run applies the change again", Command: cmd("rolled-back")},
	}
	return g
}

func writeIssue(o *out, en audit.Entry, g guidance, history []audit.Entry, v *audit.View) {
	label := func(s string) string { return o.paint(fmt.Sprintf("%-10s", s), cliout.Bold) }
	o.printf("%s %s (stage %s, order %s, author %s)\n", label("Change:"), en.ChangeID, en.Stage, en.Order, en.Author)
	o.printf("%s %s: %s\n", label("State:"), o.paint(string(en.State), cliout.Red), summary(en.State))
	o.printf("%s %s\n", label("When:"), o.when(en.CreatedAt))
	o.printf("%s %s on host %s, pid %d, flamingock-go %s\n", label("Run:"), en.RunID, en.Host, en.PID, en.ToolVersion)
	o.printf("%s %s, protocol %s, recovery %s\n", label("Target:"), en.TargetID, en.TxStrategy, en.Recovery)
	applyErr, rbErr := splitErrors(en)
	switch {
	case rbErr != "":
		o.printf("%s %s\n", label("Error:"), applyErr)
		o.printf("%s %s\n", label("Rollback:"), rbErr)
	case applyErr != "":
		o.printf("%s %s\n", label("Error:"), applyErr)
	}
	o.printf("\n%s\n  %s\n", o.paint("What happened", cliout.Bold), g.what)
	o.printf("\n%s\n", o.paint("What to check", cliout.Bold))
	for _, c := range g.check {
		o.printf("  - %s\n", c)
	}
	o.printf("\n%s\n", o.paint("Then record what you found", cliout.Bold))
	for _, r := range g.resolutions {
		o.printf("  If %s, record %s (%s):\n    %s\n", r.When, r.Resolution, r.Effect, r.Command)
	}
	o.printf("\n%s\n", o.paint("History", cliout.Bold))
	_ = entryTable(o, history, v).Write(indent{o.w}, o.color)
}

// indent prefixes every line written through it with two spaces.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	s := "  " + strings.ReplaceAll(strings.TrimSuffix(string(p), "\n"), "\n", "\n  ") + "\n"
	if _, err := i.w.Write([]byte(s)); err != nil {
		return 0, err
	}
	return len(p), nil
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cliout"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// undoFlags are the flags that choose what an undo rolls back, shared by
// undo and plan --undo.
type undoFlags struct {
	to   string
	last int
}

func (f *undoFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.to, "to", "", "undo every applied change declared after the change `ID` (which stays applied)")
	c.Flags().IntVar(&f.last, "last", 0, "undo the last `N` applied changes")
}

// options checks the flags: exactly one of --to and --last.
func (f *undoFlags) options(c *cobra.Command) (flamingock.UndoOptions, error) {
	switch {
	case f.to != "" && f.last != 0:
		return flamingock.UndoOptions{}, usagef("%s: give --to or --last, not both", c.CommandPath())
	case f.last < 0:
		return flamingock.UndoOptions{}, usagef("--last %d: want a positive number of changes", f.last)
	case f.to == "" && f.last == 0:
		return flamingock.UndoOptions{}, usagef("%s needs --to ID or --last N", c.CommandPath())
	}
	return flamingock.UndoOptions{To: f.to, Last: f.last}, nil
}

// undoPlanJSON is the document of plan --undo, and the plan part of undo's.
type undoPlanJSON struct {
	SchemaVersion int `json:"schema_version"`
	// Changes are the changes the undo rolls back, in that order.
	Changes []undoChangeJSON `json:"changes"`
	// Refusals: why the undo would be refused; it then touches nothing.
	Refusals []string `json:"refusals"`
}

type undoChangeJSON struct {
	Stage     string           `json:"stage"`
	ChangeID  string           `json:"change_id"`
	Protocol  audit.TxStrategy `json:"protocol"`
	Source    string           `json:"source"`
	AppliedAt string           `json:"applied_at"`
	RunID     string           `json:"applied_run_id"`
}

// undoJSON is the document of undo: what it planned and what it did.
type undoJSON struct {
	undoPlanJSON
	RunID   string       `json:"run_id"`
	OK      bool         `json:"ok"`
	Results []resultJSON `json:"results"`
	Error   string       `json:"error"`
}

func toUndoPlanJSON(up *flamingock.UndoPlan, o *out) undoPlanJSON {
	j := undoPlanJSON{SchemaVersion: SchemaVersion, Changes: []undoChangeJSON{}, Refusals: append([]string{}, up.Refusals...)}
	for _, pc := range up.Changes {
		j.Changes = append(j.Changes, undoChangeJSON{Stage: pc.Stage, ChangeID: pc.Change.ID, Protocol: pc.Protocol, Source: pc.Change.Source.String(),
			AppliedAt: cliout.JSONTime(pc.Latest.CreatedAt, o.loc), RunID: pc.Latest.RunID})
	}
	return j
}

// printUndoPlan prints the changes an undo rolls back, or its refusals.
func printUndoPlan(o *out, up *flamingock.UndoPlan) error {
	if len(up.Refusals) > 0 {
		o.printf("Undo refused; nothing would be undone:\n")
		for _, r := range up.Refusals {
			o.printf("  - %s\n", r)
		}
		return nil
	}
	if len(up.Changes) == 0 {
		o.printf("Nothing to undo: no change in that range is applied.\n")
		return nil
	}
	t := cliout.NewTable("STEP", "STAGE", "CHANGE", "PROTOCOL", "APPLIED", "RUN")
	t.Mark(cliout.Whole, "STEP", "PROTOCOL", "APPLIED")
	for i, pc := range up.Changes {
		t.Row(cliout.C(fmt.Sprint(i+1)), cliout.C(pc.Stage), cliout.C(pc.Change.ID), cliout.C(string(pc.Protocol)),
			cliout.C(o.time(pc.Latest.CreatedAt)), cliout.C(shortRun(pc.Latest.RunID)))
	}
	if err := o.table(t); err != nil {
		return err
	}
	o.printf("\n%d change(s) would be rolled back by their rollback functions, in this order; the next run applies them again.\n", len(up.Changes))
	return nil
}

// planUndo is plan --undo: the dry run of undo.
func (e *env) planUndo(c *cobra.Command, o *out, f *undoFlags) error {
	opts, err := f.options(c)
	if err != nil {
		return err
	}
	up, err := e.runner.PlanUndo(c.Context(), opts)
	if err != nil {
		return fmt.Errorf("planning the undo: %w", err)
	}
	if o.json {
		if err := o.writeJSON(toUndoPlanJSON(up, o)); err != nil {
			return err
		}
	} else if err := printUndoPlan(o, up); err != nil {
		return err
	}
	if len(up.Refusals) > 0 {
		return fmt.Errorf("undo would be refused (%d problem(s))", len(up.Refusals))
	}
	return nil
}

func (e *env) undoCmd() *cobra.Command {
	var f undoFlags
	var yes bool
	var why, who string
	c := &cobra.Command{
		Use:   "undo",
		Short: "Roll back applied changes with their rollback functions, last applied first",
		Long: "Roll back applied changes with their declared rollback functions, last applied first,\n" +
			"under the run lock, and record each as ROLLED_BACK with the reason \"undo\". The next\n" +
			"run (or apply) applies them again: ship a fix, or a forward change, first.\n\n" +
			"  --to ID    every applied change declared after ID; ID stays applied\n" +
			"  --last N   the last N applied changes\n\n" +
			"It lists what it will undo and asks; --yes skips the question. It refuses, touching\n" +
			"nothing, when a change in the range has no rollback function, is an issue or is not\n" +
			"settled, or when the audit holds an applied change this binary does not declare.\n" +
			"`plan --undo` shows the same without doing anything.",
		Args: noArgs,
	}
	f.register(c)
	c.Flags().BoolVarP(&yes, "yes", "y", false, "undo without asking (needed when stdin is not a terminal, and with --json)")
	c.Flags().StringVar(&why, "reason", "", "why, kept in each entry's reason after \"undo: \"")
	c.Flags().StringVar(&who, "by", "", "who asks for the undo (default $USER@hostname)")
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		if e.runner == nil {
			return errors.New("cli.Command was given a nil *flamingock.Runner; build the runner before the command")
		}
		opts, err := f.options(c)
		if err != nil {
			return err
		}
		if o.json && !yes {
			return usagef("%s --json needs --yes: there is nobody to answer the question", c.CommandPath())
		}
		opts.Why, opts.Actor = why, who
		if opts.Actor == "" {
			opts.Actor = defaultBy()
		}
		up, err := e.runner.PlanUndo(c.Context(), opts)
		if err != nil {
			return fmt.Errorf("planning the undo: %w", err)
		}
		doc := undoJSON{undoPlanJSON: toUndoPlanJSON(up, o), Results: []resultJSON{}}
		if len(up.Refusals) > 0 || len(up.Changes) == 0 {
			doc.OK = len(up.Refusals) == 0
			if o.json {
				if err := o.writeJSON(doc); err != nil {
					return err
				}
			} else if err := printUndoPlan(o, up); err != nil {
				return err
			}
			return up.Err()
		}
		if !o.json {
			if err := printUndoPlan(o, up); err != nil {
				return err
			}
		}
		if !yes {
			o.printf("Undo these %d change(s)? Type yes to go on: ", len(up.Changes))
			in := c.InOrStdin()
			line, _ := bufio.NewReader(in).ReadString('\n')
			if f, ok := in.(*os.File); !ok || !cliout.IsTerminal(f) {
				o.printf("%s\n", strings.TrimSpace(line)) // a terminal echoed the answer; show a piped one
			}
			if a := strings.ToLower(strings.TrimSpace(line)); a != "yes" && a != "y" {
				return errors.New("not confirmed: nothing was undone (answer yes, or pass --yes when there is no terminal)")
			}
		}
		opts.Confirmed = []string{}
		width := 0
		for _, pc := range up.Changes {
			opts.Confirmed = append(opts.Confirmed, pc.Change.ID)
			width = max(width, utf8.RuneCountInString(pc.Change.ID))
		}
		rep, err := e.runner.Undo(c.Context(), opts)
		if o.json {
			doc.RunID, doc.OK = rep.RunID, err == nil
			if err != nil {
				doc.Error = err.Error()
			}
			for _, r := range rep.Changes {
				rj := resultJSON{Stage: r.Stage, ChangeID: r.ChangeID, Action: string(r.Action), Reason: r.Reason, State: r.State, Protocol: r.Protocol, DurationNS: int64(r.Duration)}
				if r.Err != nil {
					rj.Error = r.Err.Error()
				}
				doc.Results = append(doc.Results, rj)
			}
			if jerr := o.writeJSON(doc); jerr != nil {
				return jerr
			}
			return undoError(context.WithoutCancel(c.Context()), err, e)
		}
		undone := 0
		for _, r := range rep.Changes {
			writeResult(o.w, r, o.color, width)
			if r.Err == nil && r.State == audit.RolledBack {
				undone++
			}
		}
		o.printf("%d undone (run %s, %s).", undone, rep.RunID, cliout.Duration(rep.Finished.Sub(rep.Started)))
		if undone > 0 {
			o.printf(" The next run applies them again.")
		}
		o.printf("\n")
		return undoError(context.WithoutCancel(c.Context()), err, e)
	})
	return c
}

// undoError adds what to do next to a failed undo: a rollback outside a
// transaction may have left the target half restored (an issue), a
// transactional one left the change applied.
func undoError(ctx context.Context, err error, e *env) error {
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok {
		return err
	}
	snap, serr := e.runner.Store().Snapshot(ctx)
	if latest, found := snap[re.ChangeID]; serr == nil && found && audit.IsIssue(latest) {
		return fmt.Errorf("%w\nThe rollback ran outside a transaction and may have left the target half restored: see `%s issue get --change %s`", err, e.prog(), re.ChangeID)
	}
	return fmt.Errorf("%w\nThe rollback's transaction did not commit: the change is still applied; the changes undone before it stay undone", err)
}

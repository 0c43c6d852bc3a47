package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cliout"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// The status of a change, as status and validate report it.
const (
	statusApplied = "applied"
	statusPending = "pending"
	statusIssue   = "issue"
	statusBlocked = "blocked"
	statusDrift   = "drift"
	statusRunning = "running"
)

func statusOf(pc flamingock.PlannedChange) string {
	switch pc.Action {
	case flamingock.ActionSkip:
		if pc.Drift {
			return statusDrift
		}
		return statusApplied
	case flamingock.ActionIssue:
		return statusIssue
	case flamingock.ActionBlocked:
		return statusBlocked
	case flamingock.ActionRunning:
		return statusRunning
	}
	return statusPending
}

// protocolText is a protocol for a table: "?" when the plan does not know
// it (the change's target is not registered; the wiring note explains).
func protocolText(p audit.TxStrategy) string {
	if p == "" {
		return "?"
	}
	return string(p)
}

func statusStyle(s string) cliout.Style {
	switch s {
	case statusApplied:
		return cliout.Green
	case statusIssue:
		return cliout.Red
	case statusBlocked, statusDrift:
		return cliout.Yellow
	}
	return cliout.Cyan
}

func (e *env) plan(c *cobra.Command) (*flamingock.Plan, error) {
	if e.runner == nil {
		return nil, errors.New("cli.Command was given a nil *flamingock.Runner; build the runner before the command")
	}
	p, err := e.runner.Plan(c.Context())
	if err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	return p, nil
}

func toPlannedJSON(pc flamingock.PlannedChange, o *out) plannedJSON {
	j := plannedJSON{
		Stage: pc.Stage, ChangeID: pc.Change.ID, Status: statusOf(pc), Action: string(pc.Action), Reason: pc.Reason,
		Protocol: pc.Protocol, Drift: pc.Drift, Source: pc.Change.Source.String(),
	}
	if l := pc.Latest; l != nil {
		j.LatestState, j.LatestAt, j.LatestRunID = l.State, cliout.JSONTime(l.CreatedAt, o.loc), l.RunID
	}
	return j
}

func counts(p *flamingock.Plan) map[string]int {
	m := map[string]int{statusApplied: 0, statusPending: 0, statusRunning: 0, statusIssue: 0, statusBlocked: 0, statusDrift: 0}
	for _, pc := range p.Changes {
		m[statusOf(pc)]++
	}
	return m
}

// wiring lists the plan's changes that would run but cannot be wired.
func wiring(p *flamingock.Plan) []string {
	if w := p.Wiring(); w != nil {
		return w.Problems
	}
	return []string{}
}

// printWiring says which changes apply would refuse to start for, and why.
func printWiring(o *out, p *flamingock.Plan) {
	problems := wiring(p)
	if len(problems) == 0 {
		return
	}
	o.printf("\nApply would refuse to start: %d change(s) cannot be wired:\n", len(problems))
	for _, s := range problems {
		o.printf("  - %s\n", s)
	}
}

func countLine(m map[string]int) string {
	var parts []string
	for _, s := range []string{statusPending, statusRunning, statusIssue, statusBlocked, statusApplied, statusDrift} {
		if m[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[s], s))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// writePlanJSON writes a plan in the JSON document plan and status share.
func writePlanJSON(o *out, p *flamingock.Plan) error {
	m := counts(p)
	doc := planJSON{SchemaVersion: SchemaVersion, UpToDate: !p.Pending(), Pending: m[statusPending] > 0, Counts: m,
		Wiring: wiring(p), Changes: []plannedJSON{}}
	for _, pc := range p.Changes {
		doc.Changes = append(doc.Changes, toPlannedJSON(pc, o))
	}
	return o.writeJSON(doc)
}

func (e *env) planCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would do with each change, and why (no lock, no writes); with --undo, what undo would roll back",
		Args:  noArgs,
	}
	var undo bool
	var uf undoFlags
	c.Flags().BoolVar(&undo, "undo", false, "show what `undo` would roll back (with --to or --last), or why it would refuse")
	uf.register(c)
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		if undo {
			return e.planUndo(c, o, &uf)
		}
		if uf.to != "" || uf.last != 0 {
			return usagef("--to and --last choose what plan --undo shows: add --undo")
		}
		p, err := e.plan(c)
		if err != nil {
			return err
		}
		if o.json {
			return writePlanJSON(o, p)
		}
		t := cliout.NewTable("STAGE", "CHANGE", "ACTION", "PROTOCOL", "REASON")
		t.Mark(cliout.Whole, "ACTION", "PROTOCOL")
		t.Mark(cliout.Free, "REASON")
		for _, pc := range p.Changes {
			t.Row(cliout.C(pc.Stage), cliout.C(pc.Change.ID), cliout.S(string(pc.Action), statusStyle(statusOf(pc))),
				cliout.C(protocolText(pc.Protocol)), cliout.C(pc.Reason))
		}
		if err := o.table(t); err != nil {
			return err
		}
		o.printf("\n%s.\n", countLine(counts(p)))
		printWiring(o, p)
		return nil
	})
	return c
}

func (e *env) statusCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "Show every change: applied, pending, running, issue, blocked, or drift (applied, but its source changed)",
		Args:  noArgs,
	}
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		p, err := e.plan(c)
		if err != nil {
			return err
		}
		if o.json {
			return writePlanJSON(o, p)
		}
		t := cliout.NewTable("STAGE", "CHANGE", "STATUS", "LAST STATE", "WHEN", "RUN")
		t.Mark(cliout.Whole, "STATUS", "LAST STATE", "WHEN")
		for _, pc := range p.Changes {
			state, when, run := "-", "-", "-"
			if l := pc.Latest; l != nil {
				state, when, run = string(l.State), o.time(l.CreatedAt), shortRun(l.RunID)
			}
			s := statusOf(pc)
			t.Row(cliout.C(pc.Stage), cliout.C(pc.Change.ID), cliout.S(s, statusStyle(s)), cliout.C(state), cliout.C(when), cliout.C(run))
		}
		if err := o.table(t); err != nil {
			return err
		}
		m := counts(p)
		o.printf("\n%s.\n", countLine(m))
		if m[statusIssue] > 0 {
			o.printf("Changes with an issue block their stage and every later one: see `%s issue list`.\n", e.prog())
		}
		if m[statusDrift] > 0 {
			o.printf("Drift: an applied change's source was edited after it ran; restore it, or declare a new change.\n")
		}
		printWiring(o, p)
		return nil
	})
	return c
}

func (e *env) validateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "validate",
		Short: "Exit 1 when any change is pending or has an issue (for deploy pipelines)",
		Args:  noArgs,
	}
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		p, err := e.plan(c)
		if err != nil {
			return err
		}
		doc := validateJSON{SchemaVersion: SchemaVersion, Pending: []string{}, Issues: []string{}, Blocked: []string{}, Drift: []string{}, Wiring: wiring(p)}
		t := cliout.NewTable("STAGE", "CHANGE", "STATUS", "REASON")
		t.Mark(cliout.Whole, "STATUS")
		t.Mark(cliout.Free, "REASON")
		for _, pc := range p.Changes {
			s := statusOf(pc)
			switch s {
			case statusPending, statusRunning:
				doc.Pending = append(doc.Pending, pc.Change.ID)
			case statusIssue:
				doc.Issues = append(doc.Issues, pc.Change.ID)
			case statusBlocked:
				doc.Blocked = append(doc.Blocked, pc.Change.ID)
			case statusDrift:
				doc.Drift = append(doc.Drift, pc.Change.ID)
			}
			if s != statusApplied {
				t.Row(cliout.C(pc.Stage), cliout.C(pc.Change.ID), cliout.S(s, statusStyle(s)), cliout.C(pc.Reason))
			}
		}
		doc.OK = len(doc.Pending)+len(doc.Issues)+len(doc.Blocked) == 0
		if o.json {
			if err := o.writeJSON(doc); err != nil {
				return err
			}
		} else {
			if t.Len() > 0 {
				if err := o.table(t); err != nil {
					return err
				}
				o.printf("\n")
			}
			if doc.OK {
				o.printf("OK: all %d changes are applied.\n", len(p.Changes))
			}
			printWiring(o, p)
		}
		switch {
		case len(doc.Wiring) > 0:
			return fmt.Errorf("%d change(s) cannot be wired: register the target or dependency they name (WithTargets, WithDependency) before deploying", len(doc.Wiring))
		case len(doc.Issues) > 0:
			return fmt.Errorf("%d change(s) need manual intervention (%s) and %d more wait behind them: see `%s issue list`",
				len(doc.Issues), strings.Join(doc.Issues, ", "), len(doc.Pending)+len(doc.Blocked), e.prog())
		case len(doc.Pending) > 0:
			return fmt.Errorf("%d change(s) pending (%s): run `%s apply`, or start the application", len(doc.Pending), strings.Join(doc.Pending, ", "), e.prog())
		}
		return nil
	})
	return c
}

func (e *env) applyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "apply",
		Short: "Apply the pending changes now, printing a line per change",
		Args:  noArgs,
	}
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		if e.runner == nil {
			return errors.New("cli.Command was given a nil *flamingock.Runner; build the runner before the command")
		}
		width := 0
		for _, s := range e.runner.Pipeline() {
			for _, ch := range s.Changes {
				width = max(width, utf8.RuneCountInString(ch.ID))
			}
		}
		live := e.cfg.progress != nil && !o.json
		if live {
			e.cfg.progress.start(o.w, o.color, width)
		}
		rep, err := e.runner.Run(c.Context())
		if live {
			e.cfg.progress.stop()
		}
		if o.json {
			if jerr := o.writeJSON(toApplyJSON(rep, err, o)); jerr != nil {
				return jerr
			}
			return applyError(context.WithoutCancel(c.Context()), err, e)
		}
		if rep.UpToDate {
			o.printf("Nothing to apply: all %d changes are applied.\n", rep.Total)
			return applyError(context.WithoutCancel(c.Context()), err, e)
		}
		if !live {
			for _, r := range rep.Changes {
				if r.State != "" || r.Err != nil {
					writeResult(o.w, r, o.color, width)
				}
			}
		}
		o.printf("%s (run %s, %s).\n", resultLine(rep), rep.RunID, cliout.Duration(rep.Finished.Sub(rep.Started)))
		return applyError(context.WithoutCancel(c.Context()), err, e)
	})
	return c
}

func resultLine(rep *flamingock.Report) string {
	ran, failed := 0, 0
	for _, r := range rep.Changes {
		switch {
		case r.Err != nil:
			failed++
		case r.State == audit.Applied:
			ran++
		}
	}
	parts := []string{fmt.Sprintf("%d applied", ran)}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", failed))
	}
	if n := rep.Count(flamingock.ActionSkip); n > 0 {
		parts = append(parts, fmt.Sprintf("%d already applied", n))
	}
	// The words and the split of status: an issue is a change that needs a
	// human; blocked is one that waits behind an issue.
	if n := rep.Count(flamingock.ActionIssue); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, statusIssue))
	}
	if n := rep.Count(flamingock.ActionBlocked); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, statusBlocked))
	}
	return strings.Join(parts, ", ")
}

// applyError adds what to do next to a run's error: a failed change either
// left an issue (a human decides) or will be retried by the next run.
func applyError(ctx context.Context, err error, e *env) error {
	if ie, ok := errors.AsType[*flamingock.IssuesError](err); ok {
		return &issuesError{IssuesError: ie, prog: e.prog()}
	}
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok {
		return err
	}
	snap, serr := e.runner.Store().Snapshot(ctx)
	if latest, found := snap[re.ChangeID]; serr == nil && found && audit.IsIssue(latest) {
		return fmt.Errorf("%w\nThe change ran outside a transaction and may be partly applied: see `%s issue get --change %s`", err, e.prog(), re.ChangeID)
	}
	return fmt.Errorf("%w\nNothing of it remains in the target; the next run (or `%s apply`) tries it again", err, e.prog())
}

// issuesError is the runtime's list of issues that stopped a run, told
// with the resolving commands as this program is invoked (a mounted CLI is
// `shop flamingock`, not `flamingock`).
type issuesError struct {
	*flamingock.IssuesError
	prog string
}

func (e *issuesError) Error() string {
	return e.List() + fmt.Sprintf("\nCheck the target system (`%s issue get --change ID` explains each), then record what you found with `%s audit fix --change ID --resolution applied|rolled-back --reason TEXT`.", e.prog, e.prog)
}

func (e *issuesError) Unwrap() error { return e.IssuesError }

func toApplyJSON(rep *flamingock.Report, err error, o *out) applyJSON {
	j := applyJSON{
		SchemaVersion: SchemaVersion, RunID: rep.RunID, OK: err == nil, UpToDate: rep.UpToDate,
		StartedAt: cliout.JSONTime(rep.Started, o.loc), FinishedAt: cliout.JSONTime(rep.Finished, o.loc),
		DurationNS: int64(rep.Finished.Sub(rep.Started)), Changes: []resultJSON{},
	}
	if err != nil {
		j.Error = err.Error()
	}
	for _, r := range rep.Results() {
		rj := resultJSON{Stage: r.Stage, ChangeID: r.ChangeID, Action: string(r.Action), Reason: r.Reason, State: r.State,
			Protocol: r.Protocol, DurationNS: int64(r.Duration), Drift: r.Drift}
		if r.Err != nil {
			rj.Error = r.Err.Error()
		}
		j.Changes = append(j.Changes, rj)
	}
	return j
}

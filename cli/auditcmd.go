package cli

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cliout"
	"github.com/flamingock/flamingock-go/internal/suggest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

func (e *env) auditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit trail and record resolutions",
	}
	group(c)
	c.AddCommand(e.auditListCmd(), e.auditFixCmd())
	return c
}

func (e *env) auditListCmd() *cobra.Command {
	var history bool
	var change, since, state, stage string
	var limit int
	c := &cobra.Command{
		Use:   "list",
		Short: "Show the latest state of every change, or with --history every entry",
		Long: "Show the latest audit entry of every change the store knows, oldest first, or with --history\n" +
			"every entry ever appended (the trail is append-only: nothing is ever removed).",
		Args: noArgs,
	}
	c.Flags().BoolVar(&history, "history", false, "show every entry, not only the latest per change")
	c.Flags().StringVar(&change, "change", "", "only this change `ID`")
	c.Flags().StringVar(&since, "since", "", "only entries written since `TIME`: RFC 3339 (2025-03-01T10:00:00Z), a date (2025-03-01, local), or a duration back from now (24h, 7d)")
	c.Flags().StringVar(&state, "state", "", "only entries in this `STATE` (e.g. ROLLBACK_FAILED)")
	c.Flags().StringVar(&stage, "stage", "", "only changes of this `STAGE`: its package path, or the path's last element as tables show it")
	c.Flags().IntVar(&limit, "limit", 0, "show only the `N` most recent entries (0: all)")
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		if limit < 0 {
			return usagef("--limit %d: want a positive number of entries, or 0 for all", limit)
		}
		q := audit.HistoryQuery{ChangeID: change}
		if state != "" {
			st, err := audit.ParseState(strings.ToUpper(state))
			if err != nil {
				if near := suggest.Closest(strings.ToUpper(state), strings.Split(statesList(), ", ")); near != "" {
					return usagef("--state %q: did you mean %s? (want one of %s)", state, near, statesList())
				}
				return usagef("--state %q: want one of %s", state, statesList())
			}
			q.State = st
		}
		if since != "" {
			t, err := parseSince(since, o.now, o.loc)
			if err != nil {
				return usageErr(err)
			}
			q.Since = t
		}
		store, done, err := e.openStore(c.Context())
		if err != nil {
			return err
		}
		defer done()
		// The view says which entries are issues: only the latest entry of
		// a change can be, and not while its run holds the lock.
		v, err := audit.ReadView(c.Context(), store)
		if err != nil {
			return err
		}
		var entries []audit.Entry
		if history {
			if entries, err = store.History(c.Context(), q); err != nil {
				return fmt.Errorf("reading the audit history: %w", err)
			}
		} else {
			for _, en := range v.Snapshot {
				if q.Matches(en) {
					entries = append(entries, en)
				}
			}
			slices.SortFunc(entries, func(a, b audit.Entry) int { return int(a.Seq - b.Seq) })
		}
		if stage != "" {
			var known []string
			entries = slices.DeleteFunc(entries, func(en audit.Entry) bool {
				known = append(known, en.Stage, path.Base(en.Stage))
				return en.Stage != stage && path.Base(en.Stage) != stage
			})
			if len(entries) == 0 {
				if near := suggest.Closest(stage, known); near != "" {
					return usagef("--stage %q: no entries of that stage; did you mean %q?", stage, near)
				}
			}
		}
		if len(entries) == 0 && change != "" {
			// A change id that is not in the trail at all is likely a typo.
			if snap, err := store.Snapshot(c.Context()); err == nil {
				if err := misspeltChange(change, snap); err != nil {
					return err
				}
			}
		}
		if limit > 0 && len(entries) > limit {
			entries = entries[len(entries)-limit:]
		}
		if o.json {
			return o.writeJSON(auditListJSON{SchemaVersion: SchemaVersion, History: history, Entries: toEntriesJSON(entries, &v, o.loc)})
		}
		if len(entries) == 0 {
			if q != (audit.HistoryQuery{}) || stage != "" {
				o.printf("No audit entries match.\n")
			} else {
				o.printf("The audit trail is empty: no change has run against this store yet.\n")
			}
			return nil
		}
		return o.table(entryTable(o, entries, &v))
	})
	return c
}

// misspeltChange is the usage error for a change id the audit trail does
// not know but has one close to (a typo); nil when the id is known or
// nothing is close.
func misspeltChange(change string, snap audit.Snapshot) error {
	if _, known := snap[change]; known {
		return nil
	}
	ids := make([]string, 0, len(snap))
	for id := range snap {
		ids = append(ids, id)
	}
	if near := suggest.Closest(change, ids); near != "" {
		return usagef("--change %q: the audit trail has no such change; did you mean %q?", change, near)
	}
	return nil
}

// entryTable lays entries out one per row. NOTE holds the error of a
// failed attempt or the reason of a manual resolution. v is the view the
// entries were read with; it colours the issues.
func entryTable(o *out, entries []audit.Entry, v *audit.View) *cliout.Table {
	t := cliout.NewTable("SEQ", "CHANGE", "STATE", "WHEN", "DURATION", "RUN", "BY", "NOTE")
	t.Mark(cliout.Whole, "SEQ", "STATE", "WHEN", "DURATION")
	t.Mark(cliout.Free, "BY", "NOTE")
	for _, en := range entries {
		dur := "-"
		if en.Duration > 0 && en.State != audit.Started {
			dur = cliout.Duration(en.Duration)
		}
		note := en.Error
		if en.Reason != "" {
			note = en.Reason
		}
		t.Row(cliout.C(strconv.FormatInt(en.Seq, 10)), cliout.C(en.ChangeID), stateCell(en, entryIsIssue(v, en)),
			cliout.C(o.time(en.CreatedAt)), cliout.C(dur), cliout.C(shortRun(en.RunID)), cliout.C(by(en)),
			cliout.C(note))
	}
	if !o.wide {
		t.Fit(o.width - 2) // issue get writes it indented by two
	}
	return t
}

// entryIsIssue reports whether e is an issue in v: it is the latest entry
// of its change and [audit.View.Standing] says so. An entry that a later one
// followed is history, whatever its state. Without a view, e is judged as
// the latest entry with no run holding the lock.
func entryIsIssue(v *audit.View, e audit.Entry) bool {
	if v == nil {
		return audit.IsIssue(e)
	}
	latest, ok := v.Snapshot[e.ChangeID]
	return ok && latest.Seq == e.Seq && v.Standing(latest) == audit.StandingIssue
}

func stateCell(en audit.Entry, issue bool) cliout.Cell {
	switch {
	case issue:
		return cliout.S(string(en.State), cliout.Red)
	case en.State == audit.Applied || en.State == audit.ManualMarkedAsApplied:
		return cliout.S(string(en.State), cliout.Green)
	case en.State == audit.Started:
		return cliout.S(string(en.State), cliout.Cyan)
	}
	return cliout.S(string(en.State), cliout.Yellow)
}

// shortRun shortens a run id the way short commit hashes are: enough to
// tell runs apart in a table; JSON and issue get show it whole.
func shortRun(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// by is who wrote an entry: the operator of a resolution, the service of a
// run, or failing both the host.
func by(en audit.Entry) string {
	switch {
	case en.Actor != "":
		return en.Actor
	case en.Host != "":
		return en.Host + ":" + strconv.Itoa(en.PID)
	}
	return "-"
}

func statesList() string {
	names := make([]string, len(audit.States))
	for i, s := range audit.States {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// parseSince reads --since: a duration back from now (with a d suffix for
// days), an RFC 3339 time, or a date at local midnight.
func parseSince(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			d = -d
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration back from now (24h, 90m, 7d), an RFC 3339 time (2025-03-01T10:00:00+01:00) or a date (2025-03-01)", s)
}

func (e *env) auditFixCmd() *cobra.Command {
	var change, resolution, reason, who string
	var lockWait time.Duration
	c := &cobra.Command{
		Use:   "fix",
		Short: "Record an operator's resolution of an issue: the change is applied, or rolled back",
		Long: "Record what you found (or did) in the target system for a change that has an issue.\n\n" +
			"  --resolution applied      the change is fully in place; the next run skips it\n" +
			"                            (records MANUAL_MARKED_AS_APPLIED)\n" +
			"  --resolution rolled-back  the target is as it was before the change; the next run\n" +
			"                            applies it again (records MANUAL_MARKED_AS_ROLLED_BACK)\n\n" +
			"Only a change whose latest entry is an issue can be fixed; the entry is appended under\n" +
			"the run lock, so it never races a run. Nothing in the history is changed or removed.",
		Args: noArgs,
	}
	c.Flags().StringVar(&change, "change", "", "the change `ID` that has the issue (required)")
	c.Flags().StringVar(&resolution, "resolution", "", "applied or rolled-back (required)")
	c.Flags().StringVar(&reason, "reason", "", "what you checked or did in the target, kept in the audit trail (required)")
	c.Flags().StringVar(&who, "by", "", "who resolved it (default $USER@hostname)")
	c.Flags().DurationVar(&lockWait, "lock-wait", 30*time.Second, "how long to wait for a run that holds the lock (0 tries once)")
	c.RunE = e.run(func(c *cobra.Command, o *out) error {
		if err := required(c, "change", "resolution", "reason"); err != nil {
			return err
		}
		if strings.TrimSpace(reason) == "" {
			return usagef("--reason is blank: say what you checked or did in the target; it is kept in the audit trail")
		}
		if lockWait < 0 {
			return usagef("--lock-wait %v: want a duration of 0 (try once) or more", lockWait)
		}
		mark, state := flamingock.MarkApplied, audit.ManualMarkedAsApplied
		switch resolution {
		case "applied":
		case "rolled-back":
			mark, state = flamingock.MarkRolledBack, audit.ManualMarkedAsRolledBack
		default:
			return usagef("--resolution %q: want applied (the change is fully in place) or rolled-back (the target is as before the change)", resolution)
		}
		if who == "" {
			who = defaultBy()
		}
		store, done, err := e.openStore(c.Context())
		if err != nil {
			return err
		}
		defer done()
		en, err := mark(c.Context(), store, flamingock.Resolution{ChangeID: change, By: who, Reason: reason, LockWait: &lockWait})
		if errors.Is(err, flamingock.ErrNoIssue) {
			if snap, serr := store.Snapshot(c.Context()); serr == nil {
				if uerr := misspeltChange(change, snap); uerr != nil {
					return uerr
				}
			}
		}
		switch {
		case errors.Is(err, flamingock.ErrNoIssue):
			return fmt.Errorf("%w; nothing was recorded (`%s issue list` shows the changes that need a resolution)", err, e.prog())
		case errors.Is(err, flamingock.ErrLockTimeout):
			return fmt.Errorf("%w; nothing was recorded. Retry when the run finishes, or wait longer with --lock-wait; if that process is gone, see `%s lock show`", err, e.prog())
		case err != nil:
			return fmt.Errorf("recording %s for %q: %w", state, change, err)
		}
		if o.json {
			return o.writeJSON(fixJSON{SchemaVersion: SchemaVersion, Resolution: resolution, Entry: toEntryJSON(en, nil, o.loc)})
		}
		next := "the next run skips it"
		if state == audit.ManualMarkedAsRolledBack {
			next = "the next run applies it again"
		}
		o.printf("Recorded %s for %s (entry %d, by %s): %s.\n", o.paint(string(state), cliout.Green), en.ChangeID, en.Seq, en.Actor, next)
		return nil
	})
	return c
}

// defaultBy is $USER@hostname, the operator as the machine knows them.
func defaultBy() string {
	name := os.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "unknown"
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return name + "@" + host
	}
	return name
}

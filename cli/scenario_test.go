package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/cli"
)

// storeCase is an audit store the scenario runs against: the store the
// application's runner uses, and the URL the standalone CLI opens it by.
type storeCase struct {
	name string
	open func(t *testing.T) (audit.Store, string)
}

func storeCases() []storeCase {
	return []storeCase{
		{"sqlite", func(t *testing.T) (audit.Store, string) { return openSQLite(t) }},
		{"postgres", openPostgres},
		{"couchbase", openCouchbase},
	}
}

// historyStates reads `audit list --history --json --change id` and returns
// the states in order, with the entries.
func historyStates(t *testing.T, build func() *cobra.Command, id string) ([]string, []map[string]any) {
	t.Helper()
	r := expect(t, execute(t, build, "audit", "list", "--history", "--json", "--change", id), 0)
	var doc struct {
		SchemaVersion int              `json:"schema_version"`
		History       bool             `json:"history"`
		Entries       []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("audit list --json is not JSON: %v\n%s", err, r.stdout)
	}
	if doc.SchemaVersion != cli.SchemaVersion || !doc.History {
		t.Fatalf("audit list --history --json: schema_version %d history %v", doc.SchemaVersion, doc.History)
	}
	var states []string
	for _, e := range doc.Entries {
		states = append(states, e["state"].(string))
	}
	return states, doc.Entries
}

// TestIncidentResolvedAsRolledBack is the issue's acceptance scenario: a
// non-transactional change fails and so does its rollback; the CLI lists
// and explains the issue; the operator cleans the target by hand and
// records rolled-back; the next run applies the change again, and the
// audit trail keeps every step.
func TestIncidentResolvedAsRolledBack(t *testing.T) {
	// The transcript holds this machine's host name, whose length would
	// move where a 100-column table cuts its text; TestTablesFit100Columns
	// checks the width.
	t.Setenv("COLUMNS", "1000")
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			store, url := sc.open(t)
			w := newWorkshop(t)
			progress := cli.NewProgress()
			app := embedded(w.runner(t, store, progress.Listener()), cli.WithProgress(progress))
			ops := standalone(url)
			var transcript []result
			step := func(build func() *cobra.Command, code int, args ...string) result {
				t.Helper()
				r := expect(t, execute(t, build, args...), code)
				transcript = append(transcript, r)
				return r
			}

			w.failApply.Store(true)
			w.failRollback.Store(true)
			r := step(app, 1, "apply")
			for _, want := range []string{"✓ write-settings", "✗ seed-users", "ROLLBACK_FAILED", "disk quota exceeded", "read-only file system"} {
				if !strings.Contains(r.stdout+r.stderr, want) {
					t.Errorf("apply output lacks %q:\n%s", want, r)
				}
			}
			if !strings.Contains(r.stderr, "issue get --change seed-users") {
				t.Errorf("apply does not say what to do next:\n%s", r)
			}

			r = step(ops, 1, "issue", "list")
			if !strings.Contains(r.stdout, "seed-users") || !strings.Contains(r.stdout, "ROLLBACK_FAILED") || strings.Contains(r.stdout, "write-settings") {
				t.Errorf("issue list should show seed-users only:\n%s", r)
			}
			r = step(ops, 1, "issue", "list", "--json")
			var list struct {
				Issues []struct {
					ChangeID      string `json:"change_id"`
					State         string `json:"state"`
					ApplyError    string `json:"apply_error"`
					RollbackError string `json:"rollback_error"`
					TargetID      string `json:"target_id"`
				} `json:"issues"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Issues) != 1 || list.Issues[0].ChangeID != "seed-users" || list.Issues[0].State != "ROLLBACK_FAILED" ||
				!strings.Contains(list.Issues[0].ApplyError, "disk quota") || !strings.Contains(list.Issues[0].RollbackError, "read-only") ||
				list.Issues[0].TargetID != "files" {
				t.Errorf("issue list --json: %+v", list.Issues)
			}

			r = step(ops, 0, "issue", "get", "--change", "seed-users")
			for _, want := range []string{
				"rollback function failed too", "disk quota exceeded", "read-only file system", `target "files"`,
				"--resolution applied", "--resolution rolled-back", "STARTED", "ROLLBACK_FAILED",
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("issue get lacks %q:\n%s", want, r)
				}
			}

			r = step(app, 0, "status")
			for _, want := range []string{"write-settings  applied", "seed-users  issue", "index-users  blocked"} {
				if !strings.Contains(collapse(r.stdout), want) {
					t.Errorf("status lacks %q:\n%s", want, r)
				}
			}
			step(app, 1, "validate")

			// The operator removes the half-written file by hand.
			if err := w.root.Remove("users.txt"); err != nil {
				t.Fatal(err)
			}
			step(ops, 0, "audit", "fix", "--change", "seed-users", "--resolution", "rolled-back",
				"--reason", "removed the partial users.txt by hand", "--by", "oncall@example")
			r = step(ops, 1, "audit", "fix", "--change", "seed-users", "--resolution", "rolled-back", "--reason", "again", "--by", "oncall@example")
			if !strings.Contains(r.stderr, "no issue to resolve") || !strings.Contains(r.stderr, "nothing was recorded") {
				t.Errorf("a second fix should be refused:\n%s", r)
			}
			step(ops, 0, "issue", "list")

			w.failApply.Store(false)
			w.failRollback.Store(false)
			step(app, 0, "apply")
			if got := w.seedRuns.Load(); got != 2 {
				t.Errorf("seed-users ran %d times, want 2 (it was marked rolled back)", got)
			}
			if got := w.read(t, "users.idx"); got != "2" {
				t.Errorf("users.idx = %q: index-users did not run after seed-users", got)
			}
			step(app, 0, "validate")

			states, entries := historyStates(t, ops, "seed-users")
			if got, want := strings.Join(states, ","), "STARTED,ROLLBACK_FAILED,MANUAL_MARKED_AS_ROLLED_BACK,STARTED,APPLIED"; got != want {
				t.Errorf("history of seed-users: %s, want %s", got, want)
			}
			manual := entries[2]
			if manual["actor"] != "oncall@example" || manual["reason"] != "removed the partial users.txt by hand" || manual["issue"] != false {
				t.Errorf("resolution entry: %v", manual)
			}
			// Resolved and applied since: the failure and the STARTED rows
			// are history, no longer issues.
			if entries[1]["error"] == "" || entries[1]["issue"] != false {
				t.Errorf("the failure entry lost its error, or is still flagged as an issue: %v", entries[1])
			}
			if entries[3]["state"] != "STARTED" || entries[3]["issue"] != false {
				t.Errorf("a STARTED entry that APPLIED followed is flagged as an issue: %v", entries[3])
			}
			step(ops, 0, "audit", "list", "--history")

			// Every store must give the operator the same transcript; the
			// SQLite run owns the golden file under -update.
			if sc.name == "sqlite" || !*update {
				golden(t, "incident_rolled_back.golden", transcriptText(t, transcript, url, w.dir))
			}
		})
	}
}

// TestIncidentResolvedAsApplied: the operator completes the change by hand
// and records applied; the next run skips it and goes on with the stage.
func TestIncidentResolvedAsApplied(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			store, url := sc.open(t)
			w := newWorkshop(t)
			app := embedded(w.runner(t, store))
			ops := standalone(url)

			w.failApply.Store(true)
			w.failRollback.Store(true)
			expect(t, execute(t, app, "apply"), 1)
			expect(t, execute(t, ops, "issue", "list"), 1)
			r := expect(t, execute(t, app, "issue", "get", "--change", "seed-users", "--json"), 0)
			var got struct {
				Issue struct {
					State string `json:"state"`
				} `json:"issue"`
				WhatHappened string `json:"what_happened"`
				Resolutions  []struct {
					Resolution string `json:"resolution"`
					Command    string `json:"command"`
				} `json:"resolutions"`
				History []map[string]any `json:"history"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatal(err)
			}
			if got.Issue.State != "ROLLBACK_FAILED" || len(got.Resolutions) != 2 || len(got.History) != 2 || got.WhatHappened == "" {
				t.Fatalf("issue get --json: %+v", got)
			}
			if c := got.Resolutions[0].Command; !strings.HasPrefix(c, "flamingock audit fix --change seed-users --resolution applied") {
				t.Errorf("embedded guidance should quote the command as mounted: %q", c)
			}

			// The operator finishes the change by hand.
			if err := w.root.WriteFile("users.txt", []byte("ada\ngrace\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r = expect(t, execute(t, ops, "audit", "fix", "--change", "seed-users", "--resolution", "applied",
				"--reason", "appended grace to users.txt by hand", "--by", "oncall@example", "--json"), 0)
			var fix struct {
				Resolution string         `json:"resolution"`
				Entry      map[string]any `json:"entry"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &fix); err != nil {
				t.Fatal(err)
			}
			if fix.Resolution != "applied" || fix.Entry["state"] != "MANUAL_MARKED_AS_APPLIED" || fix.Entry["change_id"] != "seed-users" {
				t.Errorf("audit fix --json: %+v", fix)
			}

			w.failApply.Store(false)
			r = expect(t, execute(t, app, "apply"), 0)
			if strings.Contains(r.stdout, "seed-users") {
				t.Errorf("apply should not run seed-users again:\n%s", r)
			}
			if got := w.seedRuns.Load(); got != 1 {
				t.Errorf("seed-users ran %d times, want 1", got)
			}
			if !w.has("users.idx") {
				t.Error("index-users did not run once the issue was resolved")
			}
			states, _ := historyStates(t, ops, "seed-users")
			if got, want := strings.Join(states, ","), "STARTED,ROLLBACK_FAILED,MANUAL_MARKED_AS_APPLIED"; got != want {
				t.Errorf("history of seed-users: %s, want %s", got, want)
			}
			expect(t, execute(t, app, "validate"), 0)
			r = expect(t, execute(t, app, "apply"), 0)
			if !strings.Contains(r.stdout, "Nothing to apply") {
				t.Errorf("a third run should be up to date:\n%s", r)
			}
		})
	}
}

func transcriptText(t *testing.T, rs []result, paths ...string) string {
	t.Helper()
	s := newScrubber(paths...)
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(s.scrub(r.String()))
		b.WriteString("\n")
	}
	return b.String()
}

// collapse squeezes runs of spaces, so assertions need not know the width
// of table columns.
func collapse(s string) string {
	for strings.Contains(s, "   ") {
		s = strings.ReplaceAll(s, "   ", "  ")
	}
	return s
}

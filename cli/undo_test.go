package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/cli"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// executeIn is execute with stdin, for the undo confirmation.
func executeIn(t *testing.T, build func() *cobra.Command, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Execute(context.Background(), build(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{args: args, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func removeFile(name string) func(context.Context, *os.Root) error {
	return func(_ context.Context, r *os.Root) error { return r.Remove(name) }
}

// undoPipeline: three changes that write a file each and remove it in
// their rollback; withPlain adds a fourth without a rollback.
func undoPipeline(withPlain bool) flamingock.Pipeline {
	changes := []flamingock.Change{
		fileChange("add-settings", "0001", writeFile("settings.json", "{}"), removeFile("settings.json")),
		fileChange("add-users", "0002", writeFile("users.txt", "ada\n"), removeFile("users.txt")),
		fileChange("add-index", "0003", writeFile("users.idx", "1"), removeFile("users.idx")),
	}
	if withPlain {
		changes = append(changes, fileChange("add-notes", "0004", writeFile("notes.txt", "x"), nil))
	}
	return flamingock.NewPipeline(flamingock.Stage{Name: "example.com/app/changes", Changes: changes})
}

func TestUndoScenario(t *testing.T) {
	store, _ := openSQLite(t)
	w := newWorkshop(t)
	runner := func(p flamingock.Pipeline) *flamingock.Runner {
		target := flamingock.NewDependencyTarget("files", func(d *targets.Deps) { targets.Provide(d, w.root) })
		r, err := flamingock.New(p, flamingock.WithAuditStore(store), flamingock.WithTargets(target),
			flamingock.WithLogger(slog.New(slog.DiscardHandler)), flamingock.WithService("shop", "1.4.0"), flamingock.WithLockWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	app := embedded(runner(undoPipeline(false)))
	var rs []result
	rs = append(rs, expect(t, execute(t, app, "apply"), 0))
	rs = append(rs, expect(t, execute(t, app, "plan", "--undo", "--last", "2"), 0))
	// No answer (stdin is not a terminal): nothing is undone.
	rs = append(rs, expect(t, execute(t, app, "undo", "--last", "2"), 1))
	if !w.has("users.txt") || !w.has("users.idx") {
		t.Fatal("an unconfirmed undo removed files")
	}
	rs = append(rs, expect(t, executeIn(t, app, "yes\n", "undo", "--last", "2", "--by", "alice", "--reason", "release 42 reverted"), 0))
	if !w.has("settings.json") || w.has("users.txt") || w.has("users.idx") {
		t.Fatalf("after undo --last 2: settings=%v users=%v idx=%v", w.has("settings.json"), w.has("users.txt"), w.has("users.idx"))
	}
	rs = append(rs, expect(t, execute(t, app, "audit", "list", "--history", "--change", "add-users"), 0))
	rs = append(rs, expect(t, execute(t, app, "status"), 0))
	rs = append(rs, expect(t, execute(t, app, "apply"), 0))
	if !w.has("users.txt") || !w.has("users.idx") {
		t.Fatal("the run after the undo did not apply the changes again")
	}
	// Nothing after add-index: nothing to undo.
	rs = append(rs, expect(t, execute(t, app, "undo", "--to", "add-index", "--yes"), 0))

	// --json with --yes: the plan and the results in one document.
	r := expect(t, execute(t, app, "undo", "--last", "1", "--yes", "--json"), 0)
	var doc struct {
		OK       bool     `json:"ok"`
		RunID    string   `json:"run_id"`
		Refusals []string `json:"refusals"`
		Changes  []struct {
			ChangeID string `json:"change_id"`
		} `json:"changes"`
		Results []struct {
			ChangeID string `json:"change_id"`
			Action   string `json:"action"`
			State    string `json:"state"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || !doc.OK || doc.RunID == "" || len(doc.Changes) != 1 || len(doc.Results) != 1 ||
		doc.Results[0].ChangeID != "add-index" || doc.Results[0].Action != "undo" || doc.Results[0].State != "ROLLED_BACK" {
		t.Errorf("undo --json: %v %+v\n%s", err, doc, r.stdout)
	}
	expect(t, execute(t, app, "apply"), 0)

	// A newer binary applied add-notes, which has no rollback; this binary
	// does not declare it.
	newer := embedded(runner(undoPipeline(true)))
	expect(t, execute(t, newer, "apply"), 0)
	rs = append(rs, expect(t, execute(t, newer, "plan", "--undo", "--to", "add-settings"), 1))
	rs = append(rs, expect(t, execute(t, app, "undo", "--to", "add-settings", "--yes"), 1))
	if !w.has("users.txt") || !w.has("notes.txt") {
		t.Fatal("a refused undo removed files")
	}
	// Usage errors.
	rs = append(rs, expect(t, execute(t, app, "undo"), 2))
	rs = append(rs, expect(t, execute(t, app, "undo", "--to", "add-users", "--last", "1"), 2))
	rs = append(rs, expect(t, execute(t, app, "undo", "--last", "1", "--json"), 2))
	rs = append(rs, expect(t, execute(t, app, "plan", "--last", "1"), 2))
	golden(t, "undo.golden", transcriptText(t, rs))

	states, entries := historyStates(t, app, "add-users")
	if strings.Join(states, ",") != "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED" {
		t.Errorf("history of add-users %v", states)
	}
	if e := entries[3]; e["reason"] != "undo: release 42 reverted" || e["actor"] != "alice" {
		t.Errorf("undo entry: reason %v actor %v", e["reason"], e["actor"])
	}

	r = expect(t, execute(t, newer, "undo", "--last", "1", "--yes", "--json"), 1)
	doc.OK, doc.Refusals = true, nil
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.OK || len(doc.Refusals) != 1 || !strings.Contains(doc.Refusals[0], `"add-notes" has no rollback`) {
		t.Errorf("undo --json refusal: %v %+v\n%s", err, doc, r.stdout)
	}
}

// A rollback that fails outside a transaction leaves an issue; the CLI
// says it was an undo, and resolving it lets the next run apply the
// change again.
func TestFailedUndoIsAnIssueTheCLIExplains(t *testing.T) {
	store, _ := openSQLite(t)
	w := newWorkshop(t)
	target := flamingock.NewDependencyTarget("files", func(d *targets.Deps) { targets.Provide(d, w.root) })
	r, err := flamingock.New(undoPipeline(false), flamingock.WithAuditStore(store), flamingock.WithTargets(target),
		flamingock.WithLogger(slog.New(slog.DiscardHandler)), flamingock.WithLockWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	app := embedded(r)
	expect(t, execute(t, app, "apply"), 0)
	// Someone removed the index by hand: the rollback's Remove fails.
	if err := w.root.Remove("users.idx"); err != nil {
		t.Fatal(err)
	}
	res := expect(t, execute(t, app, "undo", "--last", "1", "--yes", "--reason", "bad index"), 1)
	if !strings.Contains(res.stderr, "may have left the target half restored") || !strings.Contains(res.stderr, "issue get --change add-index") {
		t.Errorf("undo error does not say what to do:\n%s", res.stderr)
	}
	res = expect(t, execute(t, app, "issue", "get", "--change", "add-index"), 0)
	if !strings.Contains(res.stdout, "An undo (undo: bad index) ran the change's rollback function") {
		t.Errorf("issue get does not explain the undo:\n%s", res.stdout)
	}
	expect(t, execute(t, app, "audit", "fix", "--change", "add-index", "--resolution", "rolled-back", "--reason", "index gone"), 0)
	expect(t, execute(t, app, "apply"), 0)
	if !w.has("users.idx") {
		t.Error("the run after the resolution did not apply add-index again")
	}
}

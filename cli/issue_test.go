package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"
	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/internal/cbtest"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// issueList runs `issue list --json` and returns its exit code, the ids of
// its issues and those of the changes it reports running.
func issueList(t *testing.T, build func() *cobra.Command) (code int, issues, running []string) {
	t.Helper()
	r := execute(t, build, "issue", "list", "--json")
	var doc struct {
		Issues []struct {
			ChangeID string `json:"change_id"`
		} `json:"issues"`
		Running []struct {
			ChangeID string `json:"change_id"`
		} `json:"running"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("issue list --json is not JSON: %v\n%s", err, r)
	}
	for _, is := range doc.Issues {
		issues = append(issues, is.ChangeID)
	}
	for _, is := range doc.Running {
		running = append(running, is.ChangeID)
	}
	return r.code, issues, running
}

// statusOfChange runs `status --json` and returns the status of change id.
func statusOfChange(t *testing.T, build func() *cobra.Command, id string) string {
	t.Helper()
	r := expect(t, execute(t, build, "status", "--json"), 0)
	var doc struct {
		Changes []struct {
			ChangeID string `json:"change_id"`
			Status   string `json:"status"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, r)
	}
	for _, c := range doc.Changes {
		if c.ChangeID == id {
			return c.Status
		}
	}
	t.Fatalf("status --json has no change %q:\n%s", id, r)
	return ""
}

// A change whose run still holds the lock is running: issue list exits 0
// and says so, status says running, issue get refuses to explain it as an
// issue, and its STARTED row is not flagged. Once the lock is taken from
// that run (force-released: the run is fenced), the same STARTED entry is
// an issue, listed, and resolved with audit fix.
func TestRunningChangeIsNotAnIssueUntilItsRunLosesTheLock(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			store, url := sc.open(t)
			w := newWorkshop(t)
			entered, release := make(chan struct{}), make(chan struct{})
			slow := fileChange("long-import", "0001", func(ctx context.Context, r *os.Root) error {
				close(entered)
				<-release
				return r.WriteFile("import.done", nil, 0o644)
			}, nil)
			target := flamingock.NewDependencyTarget("files", w.root)
			runner, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "imports", Changes: []flamingock.Change{slow}}),
				flamingock.WithAuditStore(store), flamingock.WithTargets(target), flamingock.WithLockWait(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			app, ops := embedded(runner), standalone(url)
			done := make(chan error, 1)
			go func() {
				_, err := runner.Run(context.Background())
				done <- err
			}()
			select {
			case <-entered:
			case err := <-done:
				t.Fatalf("the run ended before the change started: %v", err)
			}
			released := false
			defer func() {
				if !released {
					close(release)
					<-done
				}
			}()

			code, issues, running := issueList(t, ops)
			if code != 0 || len(issues) != 0 || strings.Join(running, ",") != "long-import" {
				t.Errorf("issue list while the change runs: exit %d, issues %v, running %v; want exit 0, no issues, running [long-import]", code, issues, running)
			}
			r := expect(t, execute(t, ops, "issue", "list"), 0)
			if !strings.Contains(r.stdout, "Running, not an issue: long-import") {
				t.Errorf("issue list should name the running change:\n%s", r)
			}
			if got := statusOfChange(t, app, "long-import"); got != "running" {
				t.Errorf("status of long-import while it runs = %s, want running", got)
			}
			r = expect(t, execute(t, ops, "issue", "get", "--change", "long-import"), 1)
			if !strings.Contains(r.stderr, "is running in run") {
				t.Errorf("issue get on a running change should say it is running:\n%s", r)
			}
			if _, entries := historyStates(t, ops, "long-import"); len(entries) != 1 || entries[0]["issue"] != false {
				t.Errorf("the running change's STARTED row: %v, want one row with issue false", entries)
			}

			// An operator takes the lock away: the run is fenced, and its
			// STARTED entry is an issue at once, whatever the run does next.
			if err := store.ForceReleaseLock(context.Background()); err != nil {
				t.Fatal(err)
			}
			code, issues, running = issueList(t, ops)
			if code != 1 || strings.Join(issues, ",") != "long-import" || len(running) != 0 {
				t.Errorf("issue list after the lock was taken: exit %d, issues %v, running %v; want exit 1, issues [long-import]", code, issues, running)
			}
			if got := statusOfChange(t, app, "long-import"); got != "issue" {
				t.Errorf("status of the fenced change = %s, want issue", got)
			}
			close(release)
			released = true
			if err := <-done; !errors.Is(err, audit.ErrFenced) {
				t.Errorf("the fenced run: %v, want its APPLIED append rejected as fenced", err)
			}
			expect(t, execute(t, ops, "audit", "fix", "--change", "long-import", "--resolution", "applied", "--reason", "import.done is there", "--by", "ops"), 0)
			if code, issues, _ := issueList(t, ops); code != 0 || len(issues) != 0 {
				t.Errorf("issue list after the fix: exit %d, issues %v", code, issues)
			}
			states, entries := historyStates(t, ops, "long-import")
			if strings.Join(states, ",") != "STARTED,MANUAL_MARKED_AS_APPLIED" || entries[0]["issue"] != false {
				t.Errorf("history after the fix: %v %v, want STARTED (no longer an issue), MANUAL_MARKED_AS_APPLIED", states, entries)
			}
		})
	}
}

// garbleCase is a store whose rows the test can edit behind its back, as
// an operator with SQL (or a damaged disk) would.
type garbleCase struct {
	name string
	// open returns the store, its CLI URL, and a function that sets the
	// state of a change's latest entry, where the snapshot reads it (and
	// in the SQL stores' history too), to any text.
	open func(t *testing.T) (audit.Store, string, func(changeID, state string))
}

func garbleCases() []garbleCase {
	return []garbleCase{
		{"sqlite", func(t *testing.T) (audit.Store, string, func(string, string)) {
			store, url := openSQLite(t)
			db, err := sqlite.OpenDB(strings.TrimPrefix(url, "sqlite://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return store, url, func(id, state string) {
				for _, q := range []string{
					`UPDATE flamingock_audit SET state = ? WHERE seq = (SELECT max(seq) FROM flamingock_audit WHERE change_id = ?)`,
					`UPDATE flamingock_audit_latest SET state = ? WHERE change_id = ?`,
				} {
					if _, err := db.Exec(q, state, id); err != nil {
						t.Fatal(err)
					}
				}
			}
		}},
		{"postgres", func(t *testing.T) (audit.Store, string, func(string, string)) {
			pool, schema := pgtest.NewPool(t)
			store, err := postgres.New(context.Background(), pool, postgres.WithSchema(schema.Name))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			sep := "?"
			if strings.Contains(schema.URL, "?") {
				sep = "&"
			}
			return store, schema.URL + sep + "flamingock_schema=" + schema.Name, func(id, state string) {
				for _, q := range []string{
					`UPDATE flamingock_audit SET state = $1 WHERE seq = (SELECT max(seq) FROM flamingock_audit WHERE change_id = $2)`,
					`UPDATE flamingock_audit_latest SET state = $1 WHERE change_id = $2`,
				} {
					if _, err := pool.Exec(context.Background(), q, state, id); err != nil {
						t.Fatal(err)
					}
				}
			}
		}},
		{"couchbase", func(t *testing.T) (audit.Store, string, func(string, string)) {
			store, url, prefix := openCouchbaseAt(t)
			coll := cbtest.Shared(t).Connect(t).Bucket(cbtest.Bucket).DefaultCollection()
			return store, url, func(id, state string) {
				// The snapshot is the state document's "latest" object.
				path := "latest.`" + id + "`.state"
				if _, err := coll.MutateIn(prefix+"::state", []gocb.MutateInSpec{gocb.ReplaceSpec(path, state, nil)}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
}

// A latest entry whose state this version does not know blocks the run as
// an issue, and the operations tools list it, explain it and resolve it:
// the pipeline is never stuck with no way out but SQL.
func TestUnknownStateIsAnIssueTheCLIResolves(t *testing.T) {
	for _, gc := range garbleCases() {
		t.Run(gc.name, func(t *testing.T) {
			store, url, garble := gc.open(t)
			w := newWorkshop(t)
			app, ops := embedded(w.runner(t, store)), standalone(url)
			w.failApply.Store(true)
			expect(t, execute(t, app, "apply"), 1) // seed-users fails and is rolled back
			w.failApply.Store(false)
			garble("seed-users", "HALF_DONE")

			code, issues, _ := issueList(t, ops)
			if code != 1 || strings.Join(issues, ",") != "seed-users" {
				t.Fatalf("issue list with an unknown state: exit %d, issues %v; want exit 1, [seed-users]", code, issues)
			}
			if got := statusOfChange(t, app, "seed-users"); got != "issue" {
				t.Errorf("status of seed-users = %s, want issue", got)
			}
			r := expect(t, execute(t, ops, "issue", "get", "--change", "seed-users"), 0)
			if !strings.Contains(r.stdout, `"HALF_DONE", which this version of flamingock-go does not know`) {
				t.Errorf("issue get should explain the unknown state:\n%s", r)
			}
			runs := w.seedRuns.Load()
			expect(t, execute(t, app, "apply"), 1)
			if got := w.seedRuns.Load(); got != runs {
				t.Errorf("seed-users ran again over an unknown state (%d runs, want %d)", got, runs)
			}
			expect(t, execute(t, ops, "audit", "fix", "--change", "seed-users", "--resolution", "rolled-back", "--reason", "users.txt is absent", "--by", "ops"), 0)
			expect(t, execute(t, app, "apply"), 0)
			if got := w.seedRuns.Load(); got != runs+1 {
				t.Errorf("seed-users ran %d times after the fix, want %d", got, runs+1)
			}
			if !w.has(filepath.Join("users.idx")) {
				t.Errorf("index-users did not run after the fix")
			}
		})
	}
}

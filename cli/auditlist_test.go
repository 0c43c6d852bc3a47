package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/cli"
)

// TestAuditListStageAndLimit: --stage takes the full package path or its
// last element, --limit keeps the most recent entries, and a misspelt stage
// or state gets a "did you mean".
func TestAuditListStageAndLimit(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	ops := standalone(url)
	changes := func(args ...string) []string {
		t.Helper()
		r := expect(t, execute(t, ops, append([]string{"audit", "list", "--json"}, args...)...), 0)
		var doc struct {
			Entries []struct {
				ChangeID string `json:"change_id"`
				State    string `json:"state"`
			} `json:"entries"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range doc.Entries {
			out = append(out, e.ChangeID+":"+e.State)
		}
		return out
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--stage", "users"}, "seed-users:APPLIED,index-users:APPLIED"},
		{[]string{"--stage", "example.com/app/changes/config"}, "write-settings:APPLIED"},
		{[]string{"--history", "--limit", "2"}, "index-users:STARTED,index-users:APPLIED"},
		{[]string{"--history", "--stage", "users", "--limit", "3"}, "seed-users:APPLIED,index-users:STARTED,index-users:APPLIED"},
	} {
		if got := strings.Join(changes(c.args...), ","); got != c.want {
			t.Errorf("audit list %v = %s, want %s", c.args, got, c.want)
		}
	}
	r := expect(t, execute(t, ops, "audit", "list", "--stage", "usres"), cli.ExitUsage)
	if !strings.Contains(r.stderr, `did you mean "users"?`) {
		t.Errorf("a misspelt stage should get a suggestion:\n%s", r)
	}
	r = expect(t, execute(t, ops, "audit", "list", "--state", "aplied"), cli.ExitUsage)
	if !strings.Contains(r.stderr, "did you mean APPLIED?") {
		t.Errorf("a misspelt state should get a suggestion:\n%s", r)
	}
	r = expect(t, execute(t, ops, "audit", "list", "--history", "--change", "seed-user"), cli.ExitUsage)
	if !strings.Contains(r.stderr, `did you mean "seed-users"?`) {
		t.Errorf("a misspelt change id should get a suggestion:\n%s", r)
	}
	r = expect(t, execute(t, ops, "audit", "list", "--change", "something-else-entirely"), 0)
	if !strings.Contains(r.stdout, "No audit entries match") {
		t.Errorf("an unknown id with nothing near is just no match:\n%s", r)
	}
	expect(t, execute(t, ops, "audit", "list", "--limit", "-1"), cli.ExitUsage)
}

// TestMisspeltChangeAndClashingFormats: audit fix --change and issue get
// --change suggest the known id closest to a misspelt one (a usage error,
// nothing recorded); --json with -o table or wide asks for two formats.
func TestMisspeltChangeAndClashingFormats(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	ops := standalone(url)
	before := expect(t, execute(t, ops, "audit", "list", "--history", "--json"), 0).stdout
	for _, args := range [][]string{
		{"audit", "fix", "--change", "seed-user", "--resolution", "applied", "--reason", "checked"},
		{"issue", "get", "--change", "seed-user"},
	} {
		r := expect(t, execute(t, ops, args...), cli.ExitUsage)
		if !strings.Contains(r.stderr, `--change "seed-user": the audit trail has no such change; did you mean "seed-users"?`) {
			t.Errorf("%v should suggest the near id:\n%s", args, r)
		}
	}
	if after := expect(t, execute(t, ops, "audit", "list", "--history", "--json"), 0).stdout; after != before {
		t.Errorf("a misspelt fix changed the audit trail:\nbefore %s\nafter %s", before, after)
	}
	r := expect(t, execute(t, ops, "issue", "get", "--change", "something-else-entirely"), cli.ExitFailure)
	if !strings.Contains(r.stderr, "has no entry for change") {
		t.Errorf("an unknown id with nothing near keeps its error:\n%s", r)
	}
	for _, o := range []string{"table", "wide"} {
		r := expect(t, execute(t, ops, "audit", "list", "--json", "-o", o), cli.ExitUsage)
		if !strings.Contains(r.stderr, "--json and -o "+o+" ask for two formats") {
			t.Errorf("--json -o %s should be a usage error:\n%s", o, r)
		}
	}
	expect(t, execute(t, ops, "audit", "list", "--json", "-o", "json"), 0)
	expect(t, execute(t, ops, "audit", "list", "-o", "table"), 0)
}

package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/cli"
)

func TestUsageErrorsExitTwoAndSayWhatToDo(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	app := embedded(w.runner(t, store))
	ops := standalone(url)
	for _, c := range []struct {
		name  string
		build func() *cobra.Command
		args  []string
		want  string
	}{
		{"no subcommand", ops, nil, "needs a subcommand: one of audit"},
		{"unknown command", ops, []string{"audti"}, `unknown command "audti"`},
		{"unknown subcommand with suggestion", ops, []string{"audit", "lst"}, `did you mean "list"?`},
		{"unknown flag", ops, []string{"audit", "list", "--histroy"}, "unknown flag: --histroy"},
		{"positional argument", ops, []string{"issue", "get", "seed-users"}, "takes no arguments"},
		{"missing --change", ops, []string{"issue", "get"}, "needs --change"},
		{"missing fix flags", ops, []string{"audit", "fix", "--change", "x"}, "needs --resolution and --reason"},
		{"bad resolution", ops, []string{"audit", "fix", "--change", "x", "--resolution", "done", "--reason", "r"}, `--resolution "done": want applied`},
		{"bad state", ops, []string{"audit", "list", "--state", "DONE"}, "want one of STARTED, APPLIED"},
		{"bad since", ops, []string{"audit", "list", "--since", "yesterday"}, "want a duration back from now"},
		{"blank reason", ops, []string{"audit", "fix", "--change", "x", "--resolution", "applied", "--reason", " \t "}, "--reason is blank"},
		{"negative lock wait", ops, []string{"audit", "fix", "--change", "x", "--resolution", "applied", "--reason", "r", "--lock-wait", "-1s"}, "--lock-wait -1s: want a duration of 0"},
		{"bad duration flag", ops, []string{"audit", "fix", "--lock-wait", "soon"}, "invalid argument"},
		{"release without --force", ops, []string{"lock", "release"}, "pass --force to confirm"},
		{"no store", standalone(""), []string{"issue", "list"}, "pass --store URL or set FLAMINGOCK_STORE"},
		{"embedded unknown command", app, []string{"aply"}, `did you mean "apply"?`},
		{"embedded positional argument", app, []string{"plan", "now"}, "takes no arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(cli.EnvStore, "")
			r := expect(t, execute(t, c.build, c.args...), cli.ExitUsage)
			if !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("stderr should say %q and point at --help:\n%s", c.want, r)
			}
			if r.stdout != "" {
				t.Errorf("a usage error printed to stdout:\n%s", r)
			}
		})
	}
}

func TestStoreURLs(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	path := strings.TrimPrefix(url, "sqlite://")

	t.Run("absolute", func(t *testing.T) {
		r := expect(t, execute(t, standalone("sqlite://"+path), "audit", "list"), 0)
		if !strings.Contains(r.stdout, "index-users") {
			t.Errorf("audit list:\n%s", r)
		}
	})
	t.Run("relative", func(t *testing.T) {
		t.Chdir(filepath.Dir(path))
		expect(t, execute(t, standalone("sqlite:"+filepath.Base(path)), "audit", "list"), 0)
	})
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv(cli.EnvStore, url)
		expect(t, execute(t, standalone(""), "issue", "list"), 0)
	})
	t.Run("flag wins over the environment", func(t *testing.T) {
		t.Setenv(cli.EnvStore, "sqlite:///nonexistent/elsewhere.db")
		expect(t, execute(t, standalone(url), "issue", "list"), 0)
	})
	for _, c := range []struct {
		name, url string
		code      int
		want      string
	}{
		{"missing file", "sqlite:///nonexistent/app.db", 1, "no audit database at /nonexistent/app.db"},
		{"sqlite with a host", "sqlite://data/app.db", 2, "write sqlite:///abs/path.db"},
		{"unknown parameter", url + "?cache=shared", 2, `unknown parameter "cache"`},
		{"renamed tables that are not there", url + "?flamingock_history_table=other_audit", 1, "is this the application's audit database"},
		{"invalid table name", url + "?flamingock_history_table=audit;drop", 2, `WithHistoryTable("audit;drop"): a table name must be`},
		{"postgres invalid table name", "postgres://ops:secret@127.0.0.1:1/app?flamingock_latest_table=1st", 2, `WithLatestTable("1st")`},
		{"postgres invalid schema name", "postgres://ops@127.0.0.1:1/app?password=secret&flamingock_schema=a.b", 2, `WithSchema("a.b")`},
		{"couchbase invalid wait", "couchbase://ops:secret@cb.example/audit?flamingock_wait=soon", 2, `flamingock_wait: want a positive duration`},
		{"couchbase invalid key prefix", "couchbase://ops:secret@cb.example/audit?flamingock_key_prefix=a::b", 2, `WithKeyPrefix("a::b")`},
		{"couchbase without a bucket", "couchbase://ops:secret@cb.example", 2, "couchbase://ops:xxxxx@cb.example: names no bucket"},
		{"couchbase with an unknown parameter", "couchbase://ops:secret@cb.example/audit?flamingock_history_table=x", 2, `unknown parameter "flamingock_history_table"`},
		{"unknown scheme", "mongodb://root@localhost/app", 2, `unknown scheme "mongodb"`},
		{"no scheme", "app.db", 2, "want sqlite:///abs/path/app.db"},
		{"postgres unreachable", "postgres://ops:secret@127.0.0.1:1/app?connect_timeout=2", 1, "cannot reach PostgreSQL at postgres://ops:xxxxx@127.0.0.1:1/app"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := expect(t, execute(t, standalone(c.url), "audit", "list"), c.code)
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr should say %q:\n%s", c.want, r)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("the password leaked into an error:\n%s", r)
			}
		})
	}
}

func TestPostgresURLWithoutTheTablesSaysSo(t *testing.T) {
	_, url := openPostgres(t)
	bad := strings.Replace(url, "flamingock_schema=", "flamingock_schema=missing_", 1)
	r := expect(t, execute(t, standalone(bad), "audit", "list"), 1)
	if !strings.Contains(r.stderr, "flamingock_audit_latest") || !strings.Contains(r.stderr, "never creates tables") || !strings.Contains(r.stderr, "flamingock_schema") {
		t.Errorf("stderr should explain the missing tables:\n%s", r)
	}
}

func TestAuditListFilters(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	w.failApply.Store(true)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 1)
	ops := standalone(url)

	ids := func(args ...string) []string {
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
			out = append(out, e.ChangeID+"="+e.State)
		}
		return out
	}
	check := func(got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	check(ids(), "write-settings=APPLIED", "seed-users=ROLLED_BACK")
	check(ids("--history"), "write-settings=STARTED", "write-settings=APPLIED", "seed-users=STARTED", "seed-users=ROLLED_BACK")
	check(ids("--history", "--change", "seed-users"), "seed-users=STARTED", "seed-users=ROLLED_BACK")
	check(ids("--state", "rolled_back"), "seed-users=ROLLED_BACK")
	check(ids("--history", "--state", "STARTED"), "write-settings=STARTED", "seed-users=STARTED")
	check(ids("--since", "1h"), "write-settings=APPLIED", "seed-users=ROLLED_BACK")
	check(ids("--history", "--since", time.Now().Add(time.Hour).Format(time.RFC3339)))
	check(ids("--since", "7d", "--change", "write-settings"), "write-settings=APPLIED")

	r := expect(t, execute(t, ops, "audit", "list", "--change", "nope"), 0)
	if !strings.Contains(r.stdout, "No audit entries match.") {
		t.Errorf("empty filter result:\n%s", r)
	}
	// ROLLED_BACK with a rollback that worked is not an issue: the next run
	// retries the change by itself.
	expect(t, execute(t, ops, "issue", "list"), 0)
	r = expect(t, execute(t, ops, "issue", "get", "--change", "seed-users"), 1)
	if !strings.Contains(r.stderr, "has no issue: its latest state is ROLLED_BACK") {
		t.Errorf("issue get on a non-issue:\n%s", r)
	}
	r = expect(t, execute(t, ops, "issue", "get", "--change", "seeds"), 1)
	if !strings.Contains(r.stderr, `no entry for change "seeds"`) {
		t.Errorf("issue get on an unknown change:\n%s", r)
	}
}

func TestEmptyStore(t *testing.T) {
	_, url := openSQLite(t)
	ops := standalone(url)
	var b strings.Builder
	for _, args := range [][]string{{"audit", "list"}, {"audit", "list", "--json"}, {"issue", "list"}, {"issue", "list", "--json"}, {"lock", "show"}, {"lock", "show", "--json"}, {"lock", "release", "--force"}} {
		b.WriteString(execute(t, ops, args...).String() + "\n")
	}
	golden(t, "empty_store.golden", newScrubber().scrub(b.String()))
}

// TestEntryJSONFieldsAreStable pins the field names of an audit entry in
// --json output: scripts depend on them (docs/operations.md lists them).
func TestEntryJSONFieldsAreStable(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	r := expect(t, execute(t, standalone(url), "audit", "list", "--json"), 0)
	var doc struct {
		Entries []map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc.Entries[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"actor", "author", "change_id", "checksum", "created_at", "duration_ns", "error", "host", "issue", "metadata",
		"order", "pid", "reason", "recovery", "run_id", "seq", "stage", "state", "target_id", "token", "tool_version", "tx_strategy"}
	if !slices.Equal(keys, want) {
		t.Errorf("entry fields:\n got %v\nwant %v", keys, want)
	}
	var created string
	if err := json.Unmarshal(doc.Entries[0]["created_at"], &created); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:30$`).MatchString(created) {
		t.Errorf("created_at %q is not RFC 3339 in the chosen zone", created)
	}
	if _, err := time.Parse(time.RFC3339, created); err != nil {
		t.Errorf("created_at does not parse as RFC 3339: %v", err)
	}
}

func TestTextUsesTheChosenZoneAndNoColourOffATerminal(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	r := expect(t, execute(t, standalone(url), "audit", "list"), 0)
	if !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d XST`).MatchString(r.stdout) {
		t.Errorf("times should be shown in the chosen zone:\n%s", r)
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("colour codes written to a buffer:\n%q", r.stdout)
	}
	utc := func() *cobra.Command {
		c := cli.Standalone(cli.WithLocation(time.UTC))
		_ = c.PersistentFlags().Set("store", url)
		return c
	}
	if r := expect(t, execute(t, utc, "audit", "list"), 0); !strings.Contains(r.stdout, " UTC ") {
		t.Errorf("WithLocation(time.UTC) not applied:\n%s", r)
	}
}

func TestFixDefaultsAndRefusals(t *testing.T) {
	store, url := openSQLite(t)
	w := newWorkshop(t)
	w.failApply.Store(true)
	w.failRollback.Store(true)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 1)
	ops := standalone(url)

	t.Run("waits for the lock and gives up with advice", func(t *testing.T) {
		lease, err := store.AcquireLock(context.Background(), audit.Owner{Host: "web-7", PID: 4242, RunID: "someone-else"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = store.ReleaseLock(context.Background(), lease) }()
		r := expect(t, execute(t, ops, "audit", "fix", "--change", "seed-users", "--resolution", "applied", "--reason", "r", "--lock-wait", "1ms"), 1)
		for _, want := range []string{"held by web-7 pid 4242", "nothing was recorded", "--lock-wait", "lock show"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r)
			}
		}
	})
	t.Run("lock wait 0s tries once", func(t *testing.T) {
		lease, err := store.AcquireLock(context.Background(), audit.Owner{Host: "web-7", PID: 4242, RunID: "someone-else"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = store.ReleaseLock(context.Background(), lease) }()
		r := expect(t, execute(t, ops, "audit", "fix", "--change", "seed-users", "--resolution", "applied", "--reason", "r", "--lock-wait", "0s"), 1)
		if !strings.Contains(r.stderr, "timed out waiting for the run lock after 0s") {
			t.Errorf("stderr lacks the lock timeout after 0s:\n%s", r)
		}
	})
	t.Run("unknown change", func(t *testing.T) {
		r := expect(t, execute(t, ops, "audit", "fix", "--change", "nope", "--resolution", "applied", "--reason", "r"), 1)
		if !strings.Contains(r.stderr, `"nope" has no audit entries`) {
			t.Errorf("stderr:\n%s", r)
		}
	})
	t.Run("by defaults to USER@hostname", func(t *testing.T) {
		t.Setenv("USER", "grace")
		expect(t, execute(t, ops, "audit", "fix", "--change", "seed-users", "--resolution", "applied", "--reason", "checked by hand"), 0)
		snap, err := store.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		host, _ := os.Hostname()
		if got := snap["seed-users"]; got.State != audit.ManualMarkedAsApplied || got.Actor != "grace@"+host || got.Reason != "checked by hand" {
			t.Errorf("latest entry: %+v", got)
		}
	})
}

func TestLock(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			store, url := sc.open(t)
			ops := standalone(url)
			ctx := context.Background()
			owner := audit.Owner{Host: "web-7", PID: 4242, RunID: "0123456789abcdef01234567"}
			if _, err := store.AcquireLock(ctx, owner, time.Hour); err != nil {
				t.Fatal(err)
			}
			r := expect(t, execute(t, ops, "lock", "show"), 0)
			for _, want := range []string{"held, for", "host web-7, pid 4242, run 0123456789abcdef01234567"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("lock show lacks %q:\n%s", want, r)
				}
			}
			r = expect(t, execute(t, ops, "lock", "show", "--json"), 0)
			var info struct {
				Held, Valid bool
				Owner       struct{ Host string }
				Token       int64
				Remaining   int64 `json:"remaining_ns"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
				t.Fatal(err)
			}
			if !info.Held || !info.Valid || info.Owner.Host != "web-7" || info.Token <= 0 || info.Remaining <= int64(59*time.Minute) {
				t.Errorf("lock show --json: %+v", info)
			}

			r = expect(t, execute(t, ops, "lock", "release", "--force"), 1)
			if !strings.Contains(r.stderr, "still valid") || !strings.Contains(r.stderr, "--even-if-valid") {
				t.Errorf("release of a valid lease should be refused with advice:\n%s", r)
			}
			if _, err := store.LockInfo(ctx); err != nil {
				t.Fatalf("a refused release removed the lease: %v", err)
			}
			r = expect(t, execute(t, ops, "lock", "release", "--force", "--even-if-valid"), 0)
			if !strings.Contains(r.stdout, "Released the lock of run 0123456789abcdef01234567") {
				t.Errorf("release:\n%s", r)
			}
			if _, err := store.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
				t.Fatalf("after release LockInfo = %v, want ErrNoLock", err)
			}

			// An expired lease is released without --even-if-valid.
			if _, err := store.AcquireLock(ctx, owner, time.Millisecond); err != nil {
				t.Fatal(err)
			}
			waitUntilExpired(t, store)
			r = expect(t, execute(t, ops, "lock", "show"), 0)
			if !strings.Contains(r.stdout, "expired") {
				t.Errorf("lock show of an expired lease:\n%s", r)
			}
			r = expect(t, execute(t, ops, "lock", "release", "--force", "--json"), 0)
			var rel struct {
				Released bool `json:"released"`
				WasValid bool `json:"was_valid"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rel); err != nil || !rel.Released || rel.WasValid {
				t.Errorf("release --json: %v\n%s", err, r)
			}
		})
	}
}

// waitUntilExpired polls the store's own clock (the one that judges
// leases) until the lease has expired.
func waitUntilExpired(t *testing.T, s audit.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := s.LockInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !info.Valid() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease still valid after 10s: %+v", info)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEmbeddedCommands(t *testing.T) {
	store, _ := openSQLite(t)
	w := newWorkshop(t)
	progress := cli.NewProgress()
	app := embedded(w.runner(t, store, progress.Listener()), cli.WithProgress(progress))
	var rs []result
	rs = append(rs, expect(t, execute(t, app, "plan"), 0))
	rs = append(rs, expect(t, execute(t, app, "status"), 0))
	rs = append(rs, expect(t, execute(t, app, "validate"), 1))
	rs = append(rs, expect(t, execute(t, app, "validate", "--json"), 1))
	rs = append(rs, expect(t, execute(t, app, "apply"), 0))
	rs = append(rs, expect(t, execute(t, app, "apply"), 0))
	rs = append(rs, expect(t, execute(t, app, "apply", "--json"), 0))
	rs = append(rs, expect(t, execute(t, app, "status", "--json"), 0))
	golden(t, "embedded.golden", transcriptText(t, rs))

	var doc struct {
		Pending bool           `json:"pending"`
		Counts  map[string]int `json:"counts"`
		Changes []struct {
			ChangeID string `json:"change_id"`
			Status   string `json:"status"`
			Source   string `json:"source"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(rs[len(rs)-1].stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Pending || doc.Counts["applied"] != 3 || len(doc.Changes) != 3 || doc.Changes[1].Source != "changes/0001_seed-users.go:12" {
		t.Errorf("status --json: %+v", doc)
	}
}

func TestMountedUnderTheApplicationsRoot(t *testing.T) {
	store, _ := openSQLite(t)
	w := newWorkshop(t)
	runner := w.runner(t, store)
	w.failApply.Store(true)
	w.failRollback.Store(true)
	app := func() *cobra.Command {
		root := &cobra.Command{Use: "shop"}
		root.AddCommand(&cobra.Command{Use: "serve", RunE: func(*cobra.Command, []string) error { return nil }})
		root.AddCommand(cli.Command(runner, cli.WithLocation(testZone)))
		return root
	}
	expect(t, execute(t, app, "serve"), 0)
	r := expect(t, execute(t, app, "flamingock", "apply"), 1)
	if !strings.Contains(r.stderr, "`shop flamingock issue get --change seed-users`") {
		t.Errorf("advice should quote the mounted command:\n%s", r)
	}
	r = expect(t, execute(t, app, "flamingock", "status"), 0)
	if !strings.Contains(collapse(r.stdout), "seed-users  issue") || !strings.Contains(r.stdout, "`shop flamingock issue list`") {
		t.Errorf("status with an issue:\n%s", r)
	}
	// A second apply stops on the issue: its advice names the mounted
	// command and its counts are those of status.
	r = expect(t, execute(t, app, "flamingock", "apply"), 1)
	if !strings.Contains(r.stderr, "`shop flamingock audit fix --change ID") || strings.Contains(r.stderr, "`flamingock audit fix") {
		t.Errorf("the issues error should quote the mounted audit fix:\n%s", r)
	}
	if !strings.Contains(r.stdout, "1 issue, 1 blocked") {
		t.Errorf("apply should count issues and blocked changes as status does:\n%s", r)
	}
	r = expect(t, execute(t, app, "flamingock", "status"), 0)
	if !strings.Contains(r.stdout, "1 issue, 1 blocked") {
		t.Errorf("status counts:\n%s", r)
	}
	expect(t, execute(t, app, "servee"), cli.ExitUsage)
	expect(t, execute(t, app, "flamingock", "--nope"), cli.ExitUsage)
	expect(t, execute(t, app, "flamingock", "audit", "list"), 0)
}

func TestNilRunnerFailsClearly(t *testing.T) {
	r := expect(t, execute(t, func() *cobra.Command { return cli.Command(nil) }, "status"), 1)
	if !strings.Contains(r.stderr, "nil *flamingock.Runner") {
		t.Errorf("stderr:\n%s", r)
	}
}

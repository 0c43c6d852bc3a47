package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

// openPostgres returns a store in a fresh schema of the test server, and
// the URL the standalone CLI reaches the same tables by.
func openPostgres(t *testing.T) (audit.Store, string) {
	t.Helper()
	pool, schema := pgtest.NewPool(t)
	s, err := postgres.New(context.Background(), pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	sep := "?"
	if strings.Contains(schema.URL, "?") {
		sep = "&"
	}
	return s, schema.URL + sep + "flamingock_schema=" + schema.Name
}

// A store built with its own digest table and lock key is opened by the
// CLI only when the URL names both: without flamingock_digest_table it
// misses a table, without flamingock_lock_key it looks at another lock row.
func TestPostgresURLWithDigestTableAndLockKey(t *testing.T) {
	pool, schema := pgtest.NewPool(t)
	ctx := context.Background()
	store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name),
		postgres.WithDigestTable("billing_digest"), postgres.WithLockKey("billing"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	owner := audit.Owner{Host: "web-7", PID: 4242, RunID: "0123456789abcdef01234567"}
	if _, err := store.AcquireLock(ctx, owner, time.Hour); err != nil {
		t.Fatal(err)
	}

	base := schema.URL + "?flamingock_schema=" + schema.Name
	if strings.Contains(schema.URL, "?") {
		base = schema.URL + "&flamingock_schema=" + schema.Name
	}
	full := base + "&flamingock_digest_table=billing_digest&flamingock_lock_key=billing"

	r := expect(t, execute(t, standalone(full), "audit", "list"), 0)
	if !strings.Contains(r.stdout, "index-users") {
		t.Errorf("audit list with both parameters should list the applied changes:\n%s", r)
	}
	r = expect(t, execute(t, standalone(full), "lock", "show"), 0)
	if !strings.Contains(r.stdout, "host web-7, pid 4242") {
		t.Errorf("lock show with flamingock_lock_key=billing should show the billing lock:\n%s", r)
	}

	r = expect(t, execute(t, standalone(base+"&flamingock_lock_key=billing"), "audit", "list"), 1)
	if !strings.Contains(r.stderr, "flamingock_audit_digest") || !strings.Contains(r.stderr, "flamingock_digest_table") {
		t.Errorf("without flamingock_digest_table the CLI should name the missing default digest table and the parameter:\n%s", r)
	}
	r = expect(t, execute(t, standalone(base+"&flamingock_digest_table=billing_digest"), "lock", "show"), 0)
	if !strings.Contains(r.stdout, "No lock is held") {
		t.Errorf("without flamingock_lock_key the CLI reads the default key's row, which holds no lock:\n%s", r)
	}

	// A value the store's option refuses is the URL's fault: a usage error.
	r = expect(t, execute(t, standalone(base+"&flamingock_lock_key="), "audit", "list"), 2)
	if !strings.Contains(r.stderr, "WithLockKey") {
		t.Errorf("an empty lock key should be refused by the store's option:\n%s", r)
	}
}

// TestPostgresURLKeepsDriverParameters: the parameters that are not
// flamingock_* reach pgx as written. "options=-c%20search_path%3D…" sets
// the session's search path; re-encoded it would read "-c+search_path=…",
// which the server rejects. The tables are found through search_path alone.
func TestPostgresURLKeepsDriverParameters(t *testing.T) {
	store, withSchema := openPostgres(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	base, schema, ok := strings.Cut(withSchema, "flamingock_schema=")
	if !ok {
		t.Fatalf("test URL %q names no schema", withSchema)
	}
	byPath := base + "options=-c%20search_path%3D" + schema
	r := expect(t, execute(t, standalone(byPath), "audit", "list"), 0)
	if !strings.Contains(r.stdout, "index-users") {
		t.Errorf("audit list through options=-c search_path should list the applied changes:\n%s", r)
	}
}

// TestPostgresURLSecretsNeverPrinted: every password-like value in a store
// URL is hidden in every error, whichever part of the stack wrote it.
func TestPostgresURLSecretsNeverPrinted(t *testing.T) {
	_, good := openPostgres(t)
	const secret = "Sup3rS3cretValue"
	for _, c := range []struct {
		name, url string
		code      int
	}{
		{"password parameter, unreachable", "postgres://ops@127.0.0.1:1/app?password=" + secret + "&connect_timeout=2", 1},
		{"sslpassword parameter, unreachable", "postgres://ops@127.0.0.1:1/app?sslpassword=" + secret + "&connect_timeout=2", 1},
		{"user-info password, unreachable", "postgres://ops:" + secret + "@127.0.0.1:1/app?connect_timeout=2", 1},
		{"password parameter, bad table name", good + "&password=" + secret + "&flamingock_history_table=no-dashes", 2},
		{"password parameter, malformed for pgx", "postgres://ops@127.0.0.1:1/app?password=" + secret + "&sslmode=sometimes", 2},
		{"percent-encoded password", "postgres://ops:" + secret[:4] + "%21" + secret[4:] + "@127.0.0.1:1/app?connect_timeout=2", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := expect(t, execute(t, standalone(c.url), "audit", "list"), c.code)
			if strings.Contains(r.stderr, secret[4:]) || strings.Contains(r.stdout, secret[4:]) {
				t.Errorf("the password leaked:\n%s", r)
			}
			if !strings.Contains(r.stderr, "xxxxx") {
				t.Errorf("the error should show the URL with the password as xxxxx:\n%s", r)
			}
		})
	}
}

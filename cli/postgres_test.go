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

	r = expect(t, execute(t, standalone(base+"&flamingock_lock_key="), "audit", "list"), 1)
	if !strings.Contains(r.stderr, "WithLockKey") {
		t.Errorf("an empty lock key should be refused by the store's option:\n%s", r)
	}
}

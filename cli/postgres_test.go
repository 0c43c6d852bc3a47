package cli_test

import (
	"context"
	"strings"
	"testing"

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

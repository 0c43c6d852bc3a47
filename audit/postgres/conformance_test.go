package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

// TestConformance runs the audit store suite under each pgx query exec
// mode: the default (prepared statements, cached) and the two that work
// behind a transaction-pooling proxy.
func TestConformance(t *testing.T) {
	modes := []pgx.QueryExecMode{
		pgx.QueryExecModeCacheStatement,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			audittest.Run(t, func(t *testing.T) audittest.Opener {
				schema := pgtest.New(t)
				// Each opener call gets its own pool, as another process would.
				return func() (audit.Store, error) {
					pool := schema.Pool(t, func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = mode })
					return postgres.New(context.Background(), pool, postgres.WithSchema(schema.Name))
				}
			})
		})
	}
}

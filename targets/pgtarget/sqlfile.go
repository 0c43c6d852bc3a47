package pgtarget

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flamingock/flamingock-go/sqlscript"
)

// execer runs the statements of SQL-file changes on the pool or a pgx.Tx.
type execer struct {
	db interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	}
}

func (execer) Dialect() sqlscript.Dialect { return sqlscript.PostgreSQL }

func (e execer) Exec(ctx context.Context, statement string) error {
	_, err := e.db.Exec(ctx, statement)
	return err
}

package sqltarget

import (
	"context"
	"database/sql"

	"github.com/flamingock/flamingock-go/sqlscript"
)

// execer runs the statements of SQL-file changes on a *sql.DB or *sql.Tx.
type execer struct {
	db interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
	dialect sqlscript.Dialect
}

func (e execer) Dialect() sqlscript.Dialect { return e.dialect }

func (e execer) Exec(ctx context.Context, statement string) error {
	_, err := e.db.ExecContext(ctx, statement)
	return err
}

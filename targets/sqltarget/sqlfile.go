package sqltarget

import (
	"context"
	"database/sql"
	"reflect"
	"strings"

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

// dialect is the dialect SQL-file changes are split in, told by the
// package of db's driver: MySQL for a MySQL or MariaDB driver, SQLite
// otherwise (the target's own SQL is SQLite's).
func (t *Target) dialect() sqlscript.Dialect {
	typ := reflect.TypeOf(t.db.Driver())
	for typ != nil && typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ != nil {
		path := strings.ToLower(typ.PkgPath())
		if strings.Contains(path, "mysql") || strings.Contains(path, "mariadb") {
			return sqlscript.MySQL
		}
	}
	return sqlscript.SQLite
}

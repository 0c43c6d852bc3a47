// want package:"flamingock ids sql-db,pool,conn,in-tx,not-transactional,silenced"

// Package txescape has transactional changes that take database handles
// outside their transaction.
package txescape

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//flamingock:change id=sql-db order=1
func SQLDB(ctx context.Context, db *sql.DB) error { return nil } // want `change "sql-db": SQLDB is transactional but takes \*sql.DB, which writes outside the change's transaction and is not undone when it rolls back; take \*sql.Tx instead, or set transactional=false`

//flamingock:change id=pool order=2 author=alice
func Pool(ctx context.Context, tx pgx.Tx, pool *pgxpool.Pool) error { return nil } // want `Pool is transactional but takes \*pgxpool.Pool, .*take pgx.Tx instead`

//flamingock:change id=conn order=3 transactional=true
func Conn(ctx context.Context, conn *pgx.Conn) error { return nil } // want `Conn is transactional but takes \*pgx.Conn`

// InTx passes: it works inside the transaction it is given.
//
//flamingock:change id=in-tx order=4
func InTx(ctx context.Context, tx *sql.Tx, ptx pgx.Tx) error { return nil }

// NotTransactional passes: it says it runs outside a transaction, and has
// a rollback.
//
//flamingock:change id=not-transactional order=5 transactional=false
func NotTransactional(ctx context.Context, pool *pgxpool.Pool) error { return nil }

//flamingock:rollback not-transactional
func UndoNotTransactional(ctx context.Context, pool *pgxpool.Pool) error { return nil }

// Silenced passes: it reads reference data through the pool on purpose.
//
//flamingock:change id=silenced order=6
//flamingocklint:ignore txescape reads a lookup table only
func Silenced(ctx context.Context, tx pgx.Tx, pool *pgxpool.Pool) error { return nil }

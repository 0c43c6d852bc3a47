package accounts

import (
	"context"
	"database/sql"
)

// CreateAccounts creates the accounts table.
//
//flamingock:change id=create-accounts author=alice target=app-db description="Create the accounts table"
func CreateAccounts(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `CREATE TABLE accounts (
		id         INTEGER PRIMARY KEY,
		email      TEXT NOT NULL UNIQUE,
		created_at TEXT NOT NULL DEFAULT (datetime('now'))
	)`)
	return err
}

package accounts

import (
	"context"
	"database/sql"
)

// AddStatus adds a status column; existing accounts become active.
//
//flamingock:change id=add-account-status author=bob target=app-db
func AddStatus(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active'`)
	return err
}

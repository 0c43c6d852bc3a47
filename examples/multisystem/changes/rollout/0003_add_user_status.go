package rollout

import (
	"context"
	"database/sql"
)

// AddUserStatus adds a status column to the users table; existing users
// become active. It runs in a transaction of the user database, with a
// commit marker there, because the audit store is elsewhere.
//
//flamingock:change id=add-user-status author=accounts target=user-db
func AddUserStatus(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active'`)
	return err
}

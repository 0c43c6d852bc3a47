package accounts

import (
	"context"
	"database/sql"
)

// SeedAdmin adds the first administrator account.
//
//flamingock:change id=seed-admin author=alice target=app-db
func SeedAdmin(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO accounts (email) VALUES ('admin@example.com')`)
	return err
}

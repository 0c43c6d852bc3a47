package inventory

import (
	"context"
	"database/sql"
)

// SeedItems inserts the first items, in the change's transaction: the rows
// and the change's audit entry commit together or not at all.
//
//flamingock:change id=seed-items author=alice target=inventory-db
func SeedItems(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO items (sku, name) VALUES
		('bolt-m6', 'Hex bolt M6'),
		('nut-m6', 'Hex nut M6'),
		('washer-m6', 'Washer M6')`)
	return err
}

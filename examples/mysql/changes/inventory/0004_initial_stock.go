package inventory

import (
	"context"
	"database/sql"
)

// InitialStock sets the stock counted at the first inventory.
//
//flamingock:change id=initial-stock author=bob target=inventory-db
func InitialStock(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE items SET stock = CASE sku
		WHEN 'bolt-m6' THEN 500 WHEN 'nut-m6' THEN 800 ELSE 1200 END`)
	return err
}

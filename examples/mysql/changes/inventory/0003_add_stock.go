package inventory

import (
	"context"
	"database/sql"
)

// AddStock adds the stock column, outside a transaction like every DDL
// change on MySQL.
//
//flamingock:change id=add-stock author=bob target=inventory-db transactional=false
func AddStock(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `ALTER TABLE items ADD COLUMN stock INT NOT NULL DEFAULT 0`)
	return err
}

// DropStock undoes AddStock, and does nothing when the column is not
// there (the ALTER failed before adding it). MySQL has no DROP COLUMN IF
// EXISTS, so it asks the catalog first.
//
//flamingock:rollback add-stock
func DropStock(ctx context.Context, db *sql.DB) error {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = DATABASE() AND table_name = 'items' AND column_name = 'stock'`).Scan(&n)
	if err != nil || n == 0 {
		return err
	}
	_, err = db.ExecContext(ctx, `ALTER TABLE items DROP COLUMN stock`)
	return err
}

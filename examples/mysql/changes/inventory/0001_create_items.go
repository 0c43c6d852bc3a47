package inventory

import (
	"context"
	"database/sql"
)

// CreateItems creates the items table. DDL commits implicitly on MySQL,
// so the change runs outside a transaction, and its rollback undoes it if
// it fails.
//
//flamingock:change id=create-items author=alice target=inventory-db transactional=false description="Create the items table"
func CreateItems(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `CREATE TABLE items (
		sku        VARCHAR(64)  NOT NULL PRIMARY KEY,
		name       VARCHAR(200) NOT NULL,
		created_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
	) ENGINE=InnoDB`)
	return err
}

// DropItems undoes CreateItems.
//
//flamingock:rollback create-items
func DropItems(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS items`)
	return err
}

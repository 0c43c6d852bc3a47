package catalog

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// CreateProducts creates the products table.
//
//flamingock:change id=create-products author=alice target=catalog-db description="Create the products table"
func CreateProducts(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE products (
		sku         text          PRIMARY KEY,
		name        text          NOT NULL,
		price_cents bigint        NOT NULL CHECK (price_cents >= 0),
		created_at  timestamptz   NOT NULL DEFAULT now()
	)`)
	return err
}

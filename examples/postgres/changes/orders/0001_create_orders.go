package orders

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// CreateOrders creates the orders table.
//
//flamingock:change id=create-orders author=carol target=catalog-db description="Create the orders table"
func CreateOrders(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE orders (
		id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		sku        text        NOT NULL REFERENCES products (sku),
		quantity   integer     NOT NULL CHECK (quantity > 0),
		placed_at  timestamptz NOT NULL DEFAULT now()
	)`)
	return err
}

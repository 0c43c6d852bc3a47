package orders

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// AddTotals adds a total to every order, computed from the product's price,
// in the same transaction as the column is added: no reader ever sees the
// column without its values.
//
//flamingock:change id=add-order-totals author=carol target=catalog-db
func AddTotals(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `ALTER TABLE orders ADD COLUMN total_cents bigint`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE orders o SET total_cents = o.quantity * p.price_cents FROM products p WHERE p.sku = o.sku`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `ALTER TABLE orders ALTER COLUMN total_cents SET NOT NULL`)
	return err
}

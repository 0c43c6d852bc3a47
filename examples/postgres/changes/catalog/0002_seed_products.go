package catalog

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SeedProducts adds the launch catalogue in one batch.
//
//flamingock:change id=seed-products author=alice target=catalog-db
func SeedProducts(ctx context.Context, tx pgx.Tx) error {
	products := []struct {
		sku, name string
		cents     int64
	}{
		{"FL-001", "Flamingo mug", 1200},
		{"FL-002", "Flamingo poster", 2500},
		{"FL-003", "Flamingo socks", 900},
	}
	b := &pgx.Batch{}
	for _, p := range products {
		b.Queue(`INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3)`, p.sku, p.name, p.cents)
	}
	return tx.SendBatch(ctx, b).Close()
}

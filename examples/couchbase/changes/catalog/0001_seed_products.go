package catalog

import (
	"context"

	"github.com/couchbase/gocb/v2"
)

// Product is the example's product document, stored under "product::<sku>".
type Product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Currency   string `json:"currency,omitempty"`
}

// SKUs lists the products the example seeds, in order.
var SKUs = []string{"FL-001", "FL-002", "FL-003"}

// ProductKey is the key of a product document.
func ProductKey(sku string) string { return "product::" + sku }

// SeedProducts inserts the launch catalogue. The inserts are in one
// transaction: either every product exists afterwards or none does.
//
//flamingock:change id=seed-catalog-documents author=alice target=catalog description="Insert the launch catalogue"
func SeedProducts(_ context.Context, tx *gocb.TransactionAttemptContext, products *gocb.Collection) error {
	for _, p := range []Product{
		{"FL-001", "Flamingo mug", 1200, ""},
		{"FL-002", "Flamingo poster", 2500, ""},
		{"FL-003", "Flamingo socks", 900, ""},
	} {
		if _, err := tx.Insert(products, ProductKey(p.SKU), p); err != nil {
			return err
		}
	}
	return nil
}

package catalog

import (
	"context"

	"github.com/couchbase/gocb/v2"
)

// AddCurrency gives every product an explicit currency. It reads and
// replaces each document in the transaction, so a concurrent writer makes
// the transaction fail rather than lose its update.
//
//flamingock:change id=add-currency author=bob target=catalog
func AddCurrency(_ context.Context, tx *gocb.TransactionAttemptContext, products *gocb.Collection) error {
	for _, sku := range SKUs {
		doc, err := tx.Get(products, ProductKey(sku))
		if err != nil {
			return err
		}
		var p Product
		if err := doc.Content(&p); err != nil {
			return err
		}
		p.Currency = "EUR"
		if _, err := tx.Replace(doc, p); err != nil {
			return err
		}
	}
	return nil
}

package catalog

import (
	"context"
	"errors"

	"github.com/couchbase/gocb/v2"
)

// SearchIndexKey is the key of the name index document.
const SearchIndexKey = "index::product-names"

// BuildSearchIndex writes a document mapping lower-case product names to
// SKUs, outside any transaction: it is derived data, rebuilt whole, and its
// rollback removes it.
//
//flamingock:change id=build-search-index author=bob target=catalog transactional=false
func BuildSearchIndex(ctx context.Context, products *gocb.Collection) error {
	index := map[string]string{}
	for _, sku := range SKUs {
		res, err := products.Get(ProductKey(sku), &gocb.GetOptions{Context: ctx})
		if err != nil {
			return err
		}
		var p Product
		if err := res.Content(&p); err != nil {
			return err
		}
		index[lower(p.Name)] = p.SKU
	}
	_, err := products.Upsert(SearchIndexKey, index, &gocb.UpsertOptions{Context: ctx})
	return err
}

// RemoveSearchIndex undoes BuildSearchIndex.
//
//flamingock:rollback build-search-index
func RemoveSearchIndex(ctx context.Context, products *gocb.Collection) error {
	_, err := products.Remove(SearchIndexKey, &gocb.RemoveOptions{Context: ctx})
	if errors.Is(err, gocb.ErrDocumentNotFound) {
		return nil
	}
	return err
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

package catalog

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// IndexProductNames indexes products by lower-case name without blocking
// writes. CREATE INDEX CONCURRENTLY cannot run inside a transaction, so the
// change is not transactional and receives the pool.
//
//flamingock:change id=index-product-names author=bob target=catalog-db transactional=false
func IndexProductNames(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `CREATE INDEX CONCURRENTLY products_lower_name ON products (lower(name))`)
	return err
}

// DropProductNamesIndex undoes IndexProductNames if it failed half-way: a
// failed concurrent build leaves an invalid index behind.
//
//flamingock:rollback index-product-names
func DropProductNamesIndex(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS products_lower_name`)
	return err
}

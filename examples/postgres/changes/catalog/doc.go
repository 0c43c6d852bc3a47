// Package catalog is the first stage of the PostgreSQL example: the
// products table. Its transactional changes run in a transaction of the
// catalog-db target, and because the audit store is on the same pool, each
// one commits together with its audit entry. Its index is built outside a
// transaction, as CREATE INDEX CONCURRENTLY requires.
package catalog

//go:generate go tool flamingock-gen

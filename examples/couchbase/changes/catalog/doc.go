// Package catalog is the Couchbase example's only stage: product documents
// in the bucket's default collection. Its transactional changes run in a
// Couchbase transaction of the catalog target, and because the audit store
// is on the same cluster connection and bucket, each one commits together
// with its audit entry. The search index document is rebuilt outside a
// transaction, with a rollback that removes it.
package catalog

//go:generate go tool flamingock-gen

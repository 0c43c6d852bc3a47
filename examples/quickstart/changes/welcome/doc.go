// Package welcome is the quickstart's second stage: a message published to
// the outbox, a system without transactions. The change has a rollback, so
// a failure undoes what it did instead of leaving it half done.
package welcome

//go:generate go tool flamingock-gen

// Package kafkatarget is the target system for Apache Kafka through franz-go.
//
// [New] returns a non-transactional target: changes receive the
// *kgo.Client and a *kadm.Client built on it, and run under the
// non-transactional protocol (STARTED, apply, APPLIED). A change that fails
// is undone by its own rollback function, for example deleting the topic it
// created; Kafka cannot undo it by itself.
//
// [NewTransactional] returns a target whose transactional changes produce
// inside a Kafka transaction: a second client, built with
// kgo.TransactionalID, begins the transaction, the change produces with it,
// and the runner commits or aborts it. Read-committed consumers never see
// the records of a change that failed. Because Kafka cannot hold a row, the
// commit marker of the separate-transaction protocol is a record in a
// compacted marker topic (default "flamingock_marker", one partition),
// keyed by change id and produced in the same transaction as the change's
// records: it becomes visible exactly when they do. See docs/targets.md for
// what this guarantees and what it does not.
//
// Admin operations (creating topics, altering configs) are never
// transactional in Kafka, even inside a transaction: declare such changes
// transactional=false and give them a rollback.
package kafkatarget

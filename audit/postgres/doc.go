// Package postgres is an [audit.Store] in PostgreSQL, through pgx v5's
// native API (a *pgxpool.Pool, not database/sql).
//
// The store keeps four tables (names configurable, validated as plain
// identifiers and always quoted): an append-only history, a latest-state
// table with one row per change, a lock table with one row per lock, and a
// digest table with one row per lock: the [audit.AppliedDigest] of the
// changes whose latest state is applied.
//
//   - Append is one statement: a fenced INSERT into the history that only
//     happens if the writer's token is the lock row's current, unexpired
//     token, an upsert of the latest state from the inserted row, and the
//     update of the digest row by what that upsert changed, in common table
//     expressions. One round trip, no check-then-write.
//   - AppliedDigest is one SELECT of one row, whatever the number of
//     changes: the runner's check that nothing is pending.
//   - Snapshot is one SELECT of the latest-state table.
//   - The lock is a lease row whose expiry is computed by the database's
//     clock; acquire, refresh and release are single conditional
//     statements, and the fencing token grows on every acquisition.
//   - The history is the record; the latest-state and digest tables are
//     derived from it. Guard triggers mark the digest unknown when either
//     table is edited by hand, and [New] notices a history that ends
//     elsewhere than the latest states; an unknown digest makes the next
//     AppliedDigest or Snapshot rebuild both from the history. A missing
//     history beside derived tables is refused
//     ([audit.ErrHistoryMissing]); sequence numbers and fencing tokens
//     never go backwards.
//   - [New] checks that its tables exist in one read-only round trip and,
//     only when one is missing, creates them in one more, serialised by a
//     transaction-scoped advisory lock, so many instances can start at once.
//
// Nothing relies on session state (no session advisory locks, no SET, no
// temporary tables), so the store works behind PgBouncer in transaction
// pooling mode; every statement also works with pgx's exec and
// simple_protocol query modes, which such a proxy needs.
//
// [Store.AppendTx] appends inside a caller's pgx.Tx, and
// [Store.AppendCommit] appends and commits a caller's transaction in one
// round trip: targets/pgtarget uses the latter to commit a change and its
// audit entry together when both live in the same database.
//
// See docs/audit-stores.md for the table definitions and the statements.
package postgres

import "github.com/flamingock/flamingock-go/audit"

var _ audit.Store = (*Store)(nil)

// Package sqlite is the embedded default [audit.Store]: the audit trail and
// the lock live in a SQLite database file, through the pure-Go driver
// modernc.org/sqlite (no cgo). It suits a single host, one or many
// processes; use a server-backed store when instances run on several hosts.
//
// The store keeps four tables (names configurable, see [Option]): the
// append-only history, the latest entry of every change (updated in the same
// transaction as each append, so [Store.Snapshot] reads one row per change
// however long the history grows), one row holding the [audit.AppliedDigest]
// of that latest state (also updated by every append, so
// [Store.AppliedDigest] reads one row however many changes there are), and
// one lock row per lock key holding the current lease, its length and its
// fencing token. Times that decide correctness (entry CreatedAt, lease
// expiry) come from SQLite's clock in milliseconds.
//
// Every append is an INSERT ... SELECT that only produces a row while the
// entry's token is the lock row's token, so a writer that lost its lease is
// fenced atomically, inside the same transaction as the write. [Store.Append]
// also requires the lease to be unexpired. [Store.AppendTx] runs the append
// inside a caller's transaction, which is how a SQL target on the same
// database commits a change and its audit entry together; there the token
// alone decides and the lease is renewed, because the caller's SQLite write
// transaction keeps anybody else from taking the lock while it is open.
//
// [Open] owns its database; [New] uses one the caller opened (ideally with
// [OpenDB]) and shares. Both only read the schema when it is complete, so a
// store can open while another connection holds the write lock.
//
// The history is the record; the latest-state table and the digest row are
// derived from it. Guard triggers delete the digest row when either table
// is edited by hand, and opening notices a history whose newest entry
// differs from the latest states'; a missing digest row makes the next read
// rebuild both from the history. A missing history beside derived tables is
// refused ([audit.ErrHistoryMissing]); sequence numbers and fencing tokens
// never go backwards.
package sqlite

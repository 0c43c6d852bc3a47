// Package mysql is an [audit.Store] in MySQL or MariaDB, through
// database/sql and github.com/go-sql-driver/mysql.
//
// The store keeps four InnoDB tables (names configurable, validated as
// plain identifiers and always quoted): an append-only history, a
// latest-state table with one row per change, a lock table with one row per
// lock, and a digest table with one row per lock: the [audit.AppliedDigest]
// of the changes whose latest state is applied.
//
//   - Append is one transaction: a locking read of the lock row that only
//     finds it if the writer's token is the current, unexpired one (judged
//     by the database clock), the update of the digest row by what the
//     append changes, the history insert, and the upsert of the latest
//     state. The shared lock on the lock row makes a takeover wait for an
//     append in flight, so a fenced-out writer can never commit.
//   - AppliedDigest is one SELECT of one row, whatever the number of
//     changes: the runner's check that nothing is pending.
//   - Snapshot is one SELECT of the latest-state table.
//   - The lock is a lease row whose expiry is computed by the database's
//     clock; the fencing token grows on every acquisition and the row is
//     never deleted, so it never starts over.
//   - [New] checks that its tables exist in one read-only round trip and,
//     only when one is missing, creates them with idempotent statements,
//     one instance at a time under a named lock (GET_LOCK).
//   - The history is the record. Guard triggers mark the digest unknown
//     when the history or the latest states are edited by hand, and the
//     next read rebuilds the latest states and the digest from the
//     history; a dropped latest-state or digest table is recreated and
//     rebuilt the same way. A missing history is refused with
//     [audit.ErrHistoryMissing], and so is an emptied one beside latest
//     states; the probe of [New] also notices a history restored or
//     replaced behind the latest states. A metadata value that does not
//     decode sets [audit.Entry.ReadError] on its entry only.
//
// Importing the package registers the mysql:// and mariadb:// store URLs
// with package audit/storeurl, which the operations CLI opens (creating
// nothing); flamingock_history_table, flamingock_latest_table,
// flamingock_lock_table, flamingock_digest_table and flamingock_lock_key
// set the options of the same names, and every other query parameter is
// passed to the driver as written.
//
// [Store.AppendTx] appends inside a caller's *sql.Tx: targets/sqltarget uses it
// to commit a change and its audit entry together when both live in the
// same *sql.DB.
//
// Timestamps are exchanged with the server as UTC text, so the DSN's
// parseTime and loc do not change what is stored or read.
//
// See docs/audit-stores.md for the table definitions.
package mysql

import "github.com/flamingock/flamingock-go/audit"

var _ audit.Store = (*Store)(nil)

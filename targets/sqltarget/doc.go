// Package sqltarget is the target system for SQLite databases reached through
// database/sql. It is SQLite-only: its SQL looks tables up in sqlite_schema
// and binds parameters with ?, and it is tested on modernc.org/sqlite. Use
// targets/pgtarget for PostgreSQL.
//
// A transactional change receives the *sql.Tx of its transaction; a
// non-transactional change receives the *sql.DB. When the application's
// audit store keeps its trail in the same *sql.DB (the embedded SQLite
// default, created with sqlite.New on that DB), each transactional change and
// its APPLIED entry commit in one transaction. Otherwise the target keeps a
// commit-marker table so that the next run can tell a change that committed
// from one that did not; see docs/protocols.md.
//
// A transaction on the target holds SQLite's only write lock while it is
// open ([Tx.BlocksLockTakeover]), so a shared-transaction change may run
// longer than the run lock's lease: nobody can take the lock over meanwhile,
// and recording APPLIED renews the lease.
//
// Commit markers are keyed by change id only: two pipelines with different
// audit stores that change one database must not share change ids.
package sqltarget

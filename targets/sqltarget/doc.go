// Package sqltarget is the target system for SQL databases reached through
// database/sql: SQLite (tested on modernc.org/sqlite) and MySQL or MariaDB
// (github.com/go-sql-driver/mysql). The dialect is chosen from the *sql.DB's
// driver; other drivers are refused. Use targets/pgtarget for PostgreSQL.
//
// A transactional change receives the *sql.Tx of its transaction; a
// non-transactional change receives the *sql.DB. When the application's
// audit store keeps its trail in the same *sql.DB (audit/sqlite's New or
// audit/mysql's New on that DB), each transactional change and its APPLIED
// entry commit in one transaction. Otherwise the target keeps a
// commit-marker table so that the next run can tell a change that committed
// from one that did not; see docs/protocols.md.
//
// On SQLite, a transaction on the target holds the only write lock while it
// is open ([Tx.BlocksLockTakeover]), so a shared-transaction change may run
// longer than the run lock's lease: nobody can take the lock over meanwhile,
// and recording APPLIED renews the lease.
//
// On MySQL and MariaDB, DDL commits the open transaction implicitly. Before
// the APPLIED entry or the commit marker is written in a change's
// transaction, the target checks that the transaction is still open
// (@@in_transaction) and otherwise fails with an [ImplicitCommitError]:
// a change that runs DDL must be declared transactional=false, with a
// rollback.
//
// Commit markers are keyed by change id only: two pipelines with different
// audit stores that change one database must not share change ids.
package sqltarget

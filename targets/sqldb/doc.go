// Package sqldb is the target system for SQL databases reached through
// database/sql (SQLite today; the dialect is an option).
//
// A transactional change receives the *sql.Tx of its transaction; a
// non-transactional change receives the *sql.DB. When the application's
// audit store keeps its trail in the same *sql.DB (the embedded SQLite
// default, created with sqlite.New on that DB), each transactional change and
// its APPLIED entry commit in one transaction. Otherwise the target keeps a
// commit-marker table so that the next run can tell a change that committed
// from one that did not; see docs/protocols.md.
package sqldb

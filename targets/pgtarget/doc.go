// Package pgtarget is the target system for PostgreSQL through pgx v5's
// native API.
//
// A non-transactional change receives the *pgxpool.Pool; a transactional
// change receives the pgx.Tx of its transaction. When the application's
// audit store is an audit/postgres store built on the same *pgxpool.Pool,
// each transactional change and its APPLIED entry commit in one
// transaction, the entry sent with the COMMIT in one round trip (see
// [Target.SharedAudit]). Otherwise the target keeps a
// commit-marker table (default flamingock_marker) so that the next run can
// tell a change that committed from one that did not; see
// docs/protocols.md. The table is looked for when the first marker is
// written and created, in that marker's transaction, only if it is missing;
// the shared protocol never needs it. A role that may not create tables
// works once the table exists ([Schema] returns its DDL).
//
// Like the audit store, the target keeps no session state, so it works
// behind PgBouncer in transaction pooling mode.
package pgtarget

// Package memory is an [audit.Store] that keeps the audit trail and the lock
// in process memory. It is meant for tests and for trying flamingock-go out:
// nothing survives the process.
//
// A [Backend] is the shared data (what a database is to a SQL store); each
// [Backend.Open] returns another handle on it, so tests can stand in several
// processes, or a restart, with handles that close independently. [New] is
// the shortcut for one handle on a fresh backend.
//
// [WithClock] replaces the store's clock, so that tests of the runtime can
// expire a lease by moving time instead of waiting for it.
//
// The store is an [audit.DigestStore]: every append updates the
// [audit.AppliedDigest] under the same mutex as the latest state.
package memory

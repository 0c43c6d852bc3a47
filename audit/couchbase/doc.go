// Package couchbase is an [audit.Store] on Couchbase, written with gocb v2
// and key-value plus sub-document operations only (no N1QL, no range scans),
// so it runs on any Couchbase Server and on the gocaves mock.
//
// # Documents
//
// With the default key prefix "flamingock", in the configured collection:
//
//   - flamingock::state — one document that holds everything that must
//     change together: the last sequence number ("seq"), the last fencing
//     token handed out ("token"), the current lease ("lock"), the latest
//     entry of every change ("latest", an object keyed by change id) and a
//     copy of the last appended entry ("tail").
//   - flamingock::entry::<seq> — one document per history entry, written
//     once and never changed.
//
// [Store.Snapshot] is one KV get of the state document: its cost does not
// grow with the history. The state document grows with the number of
// changes (about half a kilobyte each), not with the history; Couchbase's
// 20 MiB document limit allows tens of thousands of changes.
//
// # Damage
//
// The history documents are the record. [New] refuses a state document
// whose first history document is gone ([audit.ErrHistoryMissing]) and
// rebuilds a missing state document from the history documents (all but
// the last entry, which only the lost document's tail held). A state
// document without its "latest" object has it rebuilt by the next
// [Store.Snapshot]. Entries are decoded one at a time: a damaged one is
// returned with what it holds and [audit.Entry.ReadError].
//
// # Fenced append
//
// An append reads the state document's lock, sequence and tail (one lookup,
// which returns the document's CAS), checks that the entry's token is the
// lease's and that the lease has not expired, and then writes seq+1, the new
// latest entry and the new tail in one sub-document mutation conditional on
// that CAS. Any lock change in between (a takeover, a release, a refresh)
// changes the CAS, so the mutation fails and the append starts again from a
// fresh read: the check and the write are atomic in effect. Concurrent
// appenders serialise the same way.
//
// The history document of an entry is written by the append that comes
// after it, before that append's mutation, from the "tail" copy: so every
// entry below the current sequence has its document, and the last entry is
// always readable from the tail. No history document ever holds an entry
// that did not commit, and a crash at any point loses nothing.
//
// # Clock
//
// Couchbase has no clock a client can read directly, but it stamps every
// mutation with a CAS that is a hybrid logical clock in nanoseconds, and it
// reports the vBucket's clock ("$vbucket.HLC", whole seconds) to lookups. The
// store's clock is therefore:
//
//   - for lease grants and refreshes, the CAS of a mutation the store makes on
//     the state document just before writing the lease (nanosecond
//     precision, the server's time);
//   - for everything else (expiry checks, LockInfo.Now, entry CreatedAt), the
//     later of the vBucket clock and the time in the state document's CAS,
//     both read in the lookup the operation does anyway. Both are server
//     times already passed, so this "now" can only lag the server's true
//     time (by under a second when the state document has not changed for a
//     while): a lease can look valid slightly longer than its TTL, never
//     shorter, and two holders never overlap.
//
// Document expiry (TTL) is not used for the lease: its one-second resolution
// is too coarse, and an operator must still see an expired lease until
// someone takes over.
//
// # Shared transactions
//
// [Store.AppendTx] appends inside a Couchbase transaction
// (*gocb.TransactionAttemptContext): it replaces the state document and
// inserts the previous tail's history document in the transaction, so the
// entry commits with the change's own writes or not at all. targets/cbtarget
// uses it when the audit store is on the same *gocb.Cluster and bucket.
//
// Couchbase transactions stage their writes in the "txn" extended attribute
// of each document until they commit. The store's own (non-transactional)
// writes to the state document check that no transaction is staged on it
// and make the write conditional on the CAS of that check, so they never
// overwrite a transaction's staged state; while one is staged, AcquireLock
// answers [audit.ErrLockHeld] and the other writes wait for it (up to
// [WithStagedWait]). A transaction abandoned by a crashed process is rolled
// back by gocb's lost-transaction cleanup once it expires.
package couchbase

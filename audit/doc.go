// Package audit defines the audit trail that flamingock-go keeps apart from
// the business data: the [Entry] model and its [State] values, the [Store]
// contract every audit store implements (append-only history, a latest-state
// [Snapshot], and a fenced lock lease: [Lease], its [Owner], and [LockInfo]
// for operators), and the sentinel errors stores return.
//
// A store may also implement [DigestStore]: it keeps an [AppliedDigest] (the
// count and XOR of [ChangeDigest] over every applied change) up to date with
// each append, so that the runner can tell from one small read that a
// pipeline is fully applied, without reading the snapshot.
//
// [Classify] is the one definition of an issue: from a change's latest
// entry (and, for a reader that does not hold the lock, the stored lease) it
// says whether the change is settled, being applied now, recoverable by the
// next run, or an issue that needs a human. The runner blocks on exactly
// those issues; the operations tools list and resolve exactly those. [View]
// reads a snapshot with the lock for such readers.
//
// The history is the record: a store's latest-state view and digest are
// derived from it and rebuilt from it when missing or edited; a store
// refuses to open when its history is gone but derived parts remain
// ([ErrHistoryMissing]). An entry a store cannot fully decode is returned
// with what it holds and [Entry.ReadError] set, never by failing the read
// ([DecodeMetadata] is the shared decoder of stored metadata).
//
// The package imports only the standard library so that every store and the
// runtime can depend on it without pulling in a driver.
//
// # Fencing
//
// Every write to the audit trail carries the fencing token of the lease the
// writer holds. A store must apply the write only if that token is still the
// current one for the lock, and it must decide that atomically with the write
// (in SQL: the insert is conditional on the lock row), so that a process that
// was paused past its lease cannot record anything after another process has
// taken over. A rejected write returns [ErrFenced].
//
// # Clocks
//
// Times that matter for correctness (the lease expiry and the CreatedAt of
// entries) come from the store's clock, never from the client's, so that
// instances with skewed clocks agree on who holds the lock.
package audit

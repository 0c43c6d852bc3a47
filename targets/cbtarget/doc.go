// Package cbtarget is a flamingock target for Couchbase, written with gocb
// v2.
//
// Non-transactional changes receive the *gocb.Cluster, *gocb.Bucket,
// *gocb.Scope and *gocb.Collection the target was configured with.
// Transactional changes run inside a Couchbase transaction and receive its
// *gocb.TransactionAttemptContext (plus the same handles, which the attempt
// context's methods take to name a collection); what they write through the
// attempt context commits with the change or, when the change fails, is
// rolled back and leaves nothing behind. Writes made directly on the
// collection are outside the transaction.
//
// # Bridging gocb's transactions to Begin/Commit/Rollback
//
// gocb runs a transaction as a callback, Transactions().Run(fn), while the
// runner drives a transaction as Begin, the change, Commit or Rollback.
// [Target.Begin] therefore starts Run on a goroutine; its callback hands
// the attempt context to Begin and then waits for the runner's decision:
// [Tx.Commit] makes the callback return nil (gocb commits), [Tx.Rollback]
// makes it return an error (gocb rolls back), and both wait for Run to
// finish and report its outcome. gocb retries a callback when an operation
// inside it hit a transient conflict; the bridge cannot replay the change,
// so a second attempt fails the transaction instead ([ErrAttemptRetry]).
// The runner records FAILED and the next run applies the change again,
// which is safe since nothing was committed.
//
// A transaction must finish within its timeout (gocb's default is 15
// seconds; see [WithTransactionTimeout]): a change that runs longer fails at
// commit.
//
// # Protocols
//
// With the audit store audit/couchbase on the same *gocb.Cluster and bucket,
// [Target.SharedAudit] appends the APPLIED entry inside the change's
// transaction ([couchbase.Store.AppendTx]): the shared-transaction protocol.
// With any other store the runner uses the commit-marker protocol: the
// marker is a document "<marker prefix>::<change id>" in the target's
// collection, written inside the change's transaction by [Tx.WriteMarker].
//
// gocaves (the Couchbase mock, see internal/cbtest) implements everything
// this package uses: key-value operations and KV-only transactions.
package cbtarget

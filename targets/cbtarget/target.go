package cbtarget

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// DefaultMarkerPrefix is the key prefix of commit-marker documents.
const DefaultMarkerPrefix = "flamingock-marker"

// Target is a Couchbase target. Create it with [New].
type Target struct {
	id         string
	cluster    *gocb.Cluster
	bucketName string
	bucket     *gocb.Bucket
	scope      *gocb.Scope
	coll       *gocb.Collection

	scopeName, collName string
	markerPrefix        string
	txTimeout           time.Duration
}

// Option configures a [Target]. [New] returns the first option error.
type Option func(*Target) error

// WithCollection makes the target's scope and collection scope.collection
// (default _default._default): the ones non-transactional changes receive
// and where commit markers are kept.
func WithCollection(scope, collection string) Option {
	return func(t *Target) error {
		if scope == "" || collection == "" {
			return fmt.Errorf("couchbase target: WithCollection(%q, %q): scope and collection must not be empty", scope, collection)
		}
		t.scopeName, t.collName = scope, collection
		return nil
	}
}

// WithMarkerPrefix sets the key prefix of commit-marker documents (default
// "flamingock-marker").
func WithMarkerPrefix(prefix string) Option {
	return func(t *Target) error {
		if prefix == "" || strings.Contains(prefix, "::") || len(prefix) > 200 {
			return fmt.Errorf("couchbase target: WithMarkerPrefix(%q): want 1 to 200 bytes without \"::\"", prefix)
		}
		t.markerPrefix = prefix
		return nil
	}
}

// WithTransactionTimeout sets how long a change's transaction may take,
// change included (default: the cluster's transactions configuration,
// 15s unless set).
func WithTransactionTimeout(d time.Duration) Option {
	return func(t *Target) error {
		if d <= 0 {
			return fmt.Errorf("couchbase target: WithTransactionTimeout(%v): must be positive", d)
		}
		t.txTimeout = d
		return nil
	}
}

// New returns a target with the given id on bucket of cluster.
func New(id string, cluster *gocb.Cluster, bucket string, opts ...Option) (*Target, error) {
	switch {
	case id == "":
		return nil, errors.New("couchbase target: id is empty")
	case cluster == nil:
		return nil, fmt.Errorf("couchbase target %q: cluster is nil", id)
	case bucket == "":
		return nil, fmt.Errorf("couchbase target %q: bucket name is empty", id)
	}
	t := &Target{id: id, cluster: cluster, bucketName: bucket, scopeName: "_default", collName: "_default", markerPrefix: DefaultMarkerPrefix}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(t); err != nil {
			return nil, err
		}
	}
	t.bucket = cluster.Bucket(bucket)
	t.scope = t.bucket.Scope(t.scopeName)
	t.coll = t.scope.Collection(t.collName)
	return t, nil
}

// ID implements [targets.Target].
func (t *Target) ID() string { return t.id }

// Provide gives non-transactional changes the cluster, the bucket, the
// scope and the collection.
func (t *Target) Provide(d *targets.Deps) {
	targets.Provide(d, t.cluster)
	targets.Provide(d, t.bucket)
	targets.Provide(d, t.scope)
	targets.Provide(d, t.coll)
}

// TxTypes reports that transactional changes receive the transaction's
// *gocb.TransactionAttemptContext, and the handles a non-transactional
// change receives: the attempt context's methods need a *gocb.Collection to
// name where a document lives.
func (t *Target) TxTypes() []reflect.Type {
	return []reflect.Type{
		flamingock.TypeOf[*gocb.TransactionAttemptContext](),
		flamingock.TypeOf[*gocb.Cluster](),
		flamingock.TypeOf[*gocb.Bucket](),
		flamingock.TypeOf[*gocb.Scope](),
		flamingock.TypeOf[*gocb.Collection](),
	}
}

// sharedStore is what an audit store offers to append inside this target's
// transactions; audit/couchbase implements it.
type sharedStore interface {
	Cluster() *gocb.Cluster
	Bucket() string
	AppendTx(ctx context.Context, tx *gocb.TransactionAttemptContext, e audit.Entry) (audit.Entry, error)
}

// SharedAudit returns an appender that writes the audit entry inside the
// change's transaction when store is an audit/couchbase store on the same
// *gocb.Cluster and bucket as the target. A store on another connection is
// treated as elsewhere (the commit-marker protocol, safe there too).
func (t *Target) SharedAudit(store audit.Store) (targets.TxAppender, bool) {
	s, ok := store.(sharedStore)
	if !ok || s.Cluster() != t.cluster || s.Bucket() != t.bucketName {
		return nil, false
	}
	return func(ctx context.Context, tx targets.Tx, e audit.Entry) (audit.Entry, error) {
		x, ok := tx.(*Tx)
		if !ok || x.t != t {
			return audit.Entry{}, fmt.Errorf("couchbase target %q: shared audit append given a transaction of another target (%T)", t.id, tx)
		}
		return s.AppendTx(ctx, x.attempt, e)
	}, true
}

// markerDoc is a commit marker as stored.
type markerDoc struct {
	ChangeID string `json:"change_id"`
	RunID    string `json:"run_id"`
	Token    int64  `json:"token"`
}

func (t *Target) markerKey(changeID string) string { return t.markerPrefix + "::" + changeID }

// ReadMarker returns the commit marker of a change.
func (t *Target) ReadMarker(ctx context.Context, changeID string) (targets.Marker, bool, error) {
	key := t.markerKey(changeID)
	res, err := t.coll.Get(key, &gocb.GetOptions{Context: ctx})
	if errors.Is(err, gocb.ErrDocumentNotFound) {
		return targets.Marker{}, false, nil
	}
	if err != nil {
		return targets.Marker{}, false, fmt.Errorf("couchbase target %q: read marker %q: %w", t.id, key, err)
	}
	var m markerDoc
	if err := res.Content(&m); err != nil {
		return targets.Marker{}, false, fmt.Errorf("couchbase target %q: decode marker %q: %w", t.id, key, err)
	}
	return targets.Marker{ChangeID: m.ChangeID, RunID: m.RunID, Token: m.Token}, true, nil
}

// ErrAttemptRetry is the error a transaction ends with when gocb wanted to
// run its callback a second time (after a transient conflict): the change
// already ran in the first attempt and cannot be replayed by the bridge.
var ErrAttemptRetry = errors.New("couchbase target: gocb asked to retry the transaction attempt; the change cannot be replayed inside one run")

// errRollback is what the bridged callback returns to make gocb roll back.
var errRollback = errors.New("couchbase target: rolled back by the runner")

// Begin starts a Couchbase transaction; see the package documentation for
// how the callback-shaped gocb API is bridged.
func (t *Target) Begin(ctx context.Context) (targets.Tx, error) {
	x := &Tx{t: t, decide: make(chan error, 1), done: make(chan error, 1)}
	ready := make(chan *gocb.TransactionAttemptContext, 1)
	var opts *gocb.TransactionOptions
	if t.txTimeout > 0 {
		opts = &gocb.TransactionOptions{Timeout: t.txTimeout}
	}
	go func() {
		attempts := 0
		_, err := t.cluster.Transactions().Run(func(attempt *gocb.TransactionAttemptContext) error {
			attempts++
			if attempts > 1 {
				return ErrAttemptRetry
			}
			ready <- attempt
			return <-x.decide
		}, opts)
		x.done <- err
	}()
	select {
	case a := <-ready:
		x.attempt = a
		return x, nil
	case err := <-x.done:
		return nil, fmt.Errorf("couchbase target %q: begin transaction: %w", t.id, err)
	case <-ctx.Done():
		// Let the callback roll back if it starts after all.
		x.decide <- errRollback
		return nil, ctx.Err()
	}
}

// Tx is an open transaction on the target.
type Tx struct {
	t       *Target
	attempt *gocb.TransactionAttemptContext
	decide  chan error // nil: commit; otherwise the callback's error
	done    chan error // Run's result

	once   sync.Once
	result error
}

// Attempt returns the transaction's attempt context.
func (x *Tx) Attempt() *gocb.TransactionAttemptContext { return x.attempt }

// Provide gives transactional changes the attempt context and the target's
// handles. Writes must go through the attempt context to be part of the
// transaction; the collection is there to name where documents live.
func (x *Tx) Provide(d *targets.Deps) {
	x.t.Provide(d)
	targets.Provide(d, x.attempt)
}

// WriteMarker records the change's commit marker inside the transaction,
// unless a marker with a token at or above since exists: then another
// attempt committed the change, and it returns a
// *[targets.MarkerConflictError].
func (x *Tx) WriteMarker(_ context.Context, m targets.Marker, since int64) error {
	key := x.t.markerKey(m.ChangeID)
	doc := markerDoc{ChangeID: m.ChangeID, RunID: m.RunID, Token: m.Token}
	cur, err := x.attempt.Get(x.t.coll, key)
	if errors.Is(err, gocb.ErrDocumentNotFound) {
		if _, err := x.attempt.Insert(x.t.coll, key, doc); err != nil {
			return fmt.Errorf("couchbase target %q: insert marker %q: %w", x.t.id, key, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("couchbase target %q: read marker %q: %w", x.t.id, key, err)
	}
	var existing markerDoc
	if err := cur.Content(&existing); err != nil {
		return fmt.Errorf("couchbase target %q: decode marker %q: %w", x.t.id, key, err)
	}
	if existing.Token >= since {
		return &targets.MarkerConflictError{Existing: targets.Marker{ChangeID: existing.ChangeID, RunID: existing.RunID, Token: existing.Token}}
	}
	if _, err := x.attempt.Replace(cur, doc); err != nil {
		return fmt.Errorf("couchbase target %q: replace marker %q: %w", x.t.id, key, err)
	}
	return nil
}

// finish hands the decision to the callback once and waits for gocb's
// outcome.
func (x *Tx) finish(decision error) error {
	x.once.Do(func() {
		x.decide <- decision
		x.result = <-x.done
	})
	return x.result
}

// Commit commits the transaction and reports gocb's outcome. It waits for
// the outcome even if ctx ends: gocb bounds it with the transaction's
// timeout, and the runner must know whether the change committed.
func (x *Tx) Commit(context.Context) error {
	if err := x.finish(nil); err != nil {
		return fmt.Errorf("couchbase target %q: commit: %w", x.t.id, err)
	}
	return nil
}

// Rollback rolls the transaction back.
func (x *Tx) Rollback(context.Context) error {
	err := x.finish(errRollback)
	if err == nil {
		return fmt.Errorf("couchbase target %q: rollback: the transaction was already committed", x.t.id)
	}
	if errors.Is(err, errRollback) {
		return nil
	}
	return fmt.Errorf("couchbase target %q: rollback: %w", x.t.id, err)
}

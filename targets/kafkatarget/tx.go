package kafkatarget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// DefaultMarkerTopic is the commit-marker topic unless [WithMarkerTopic]
// says otherwise.
const DefaultMarkerTopic = "flamingock_marker"

// DefaultMarkerWait bounds how long reading the marker topic waits for a
// transaction another producer left open on it; it exceeds kgo's default
// transaction timeout (40s), after which the broker aborts such a
// transaction.
const DefaultMarkerWait = time.Minute

// topicName is what Kafka accepts as a topic name.
var topicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

// TxTarget is a Kafka target whose transactional changes run inside a
// Kafka transaction. Create it with [NewTransactional]. Non-transactional
// changes on it receive what a [Target] gives them.
type TxTarget struct {
	*Target
	tx          *kgo.Client
	markerTopic string
	markerWait  time.Duration

	mu      sync.Mutex
	created bool
}

var _ targets.Transactional = (*TxTarget)(nil)

// Option configures a [TxTarget].
type Option func(*TxTarget) error

// WithMarkerTopic names the commit-marker topic (default
// [DefaultMarkerTopic]). The target creates it, compacted with one
// partition, when it is missing.
func WithMarkerTopic(name string) Option {
	return func(t *TxTarget) error {
		if !topicName.MatchString(name) || name == "." || name == ".." {
			return fmt.Errorf("WithMarkerTopic(%q): a topic name is 1 to 249 letters, digits, '.', '_' or '-'", name)
		}
		t.markerTopic = name
		return nil
	}
}

// WithMarkerWait bounds how long reading the marker topic waits for a
// transaction left open on it by another producer (default
// [DefaultMarkerWait]).
func WithMarkerWait(d time.Duration) Option {
	return func(t *TxTarget) error {
		if d <= 0 {
			return fmt.Errorf("WithMarkerWait(%s): the wait must be positive", d)
		}
		t.markerWait = d
		return nil
	}
}

// NewTransactional returns a transactional target with the given id.
// Non-transactional changes receive client and an admin client built on it;
// transactional changes receive txClient, which must have been built with
// kgo.TransactionalID, inside an open transaction.
//
// Give every instance of an application the same transactional id (say
// "orders-service-flamingock"): a new instance's producer then fences the
// producer of one that died, and Kafka aborts the dead one's open
// transaction instead of letting it hold back read-committed consumers
// until it times out. Both clients stay the caller's to close.
func NewTransactional(id string, client, txClient *kgo.Client, opts ...Option) (*TxTarget, error) {
	base, err := New(id, client)
	if err != nil {
		return nil, err
	}
	if txClient == nil {
		return nil, fmt.Errorf("kafka target %q: transactional client is nil", id)
	}
	if v := txClient.OptValues(kgo.TransactionalID); len(v) < 2 || v[1] != true || v[0] == "" {
		return nil, fmt.Errorf("kafka target %q: the transactional client was not built with kgo.TransactionalID", id)
	}
	t := &TxTarget{Target: base, tx: txClient, markerTopic: DefaultMarkerTopic, markerWait: DefaultMarkerWait}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("kafka target %q: nil Option", id)
		}
		if err := o(t); err != nil {
			return nil, fmt.Errorf("kafka target %q: %w", id, err)
		}
	}
	return t, nil
}

// TxClient returns the transactional client.
func (t *TxTarget) TxClient() *kgo.Client { return t.tx }

// MarkerTopic returns the name of the commit-marker topic.
func (t *TxTarget) MarkerTopic() string { return t.markerTopic }

// TxTypes reports that transactional changes receive a *kgo.Client (the
// transactional one).
func (t *TxTarget) TxTypes() []reflect.Type {
	return []reflect.Type{flamingock.TypeOf[*kgo.Client]()}
}

// SharedAudit always reports false: no audit store keeps its trail in
// Kafka, so transactional changes run under the commit-marker protocol.
func (t *TxTarget) SharedAudit(audit.Store) (targets.TxAppender, bool) { return nil, false }

// Begin creates the marker topic if needed and begins a Kafka transaction
// on the transactional client. One transaction is open at a time per
// target; runs in a process serialise on the audit store's lock anyway.
func (t *TxTarget) Begin(ctx context.Context) (targets.Tx, error) {
	if err := t.ensureMarkerTopic(ctx); err != nil {
		return nil, err
	}
	if err := t.tx.BeginTransaction(); err != nil {
		return nil, fmt.Errorf("kafka target %q: begin transaction: %w", t.id, err)
	}
	return &Tx{t: t}, nil
}

// ensureMarkerTopic creates the compacted marker topic once per target.
func (t *TxTarget) ensureMarkerTopic(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.created {
		return nil
	}
	compact := "compact"
	_, err := t.admin.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, t.markerTopic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("kafka target %q: create marker topic %s: %w", t.id, t.markerTopic, err)
	}
	t.created = true
	return nil
}

// ReadMarker returns the commit marker of a change: the last committed
// record keyed by the change id in the marker topic.
//
// It first makes sure the transactional producer is initialised, which
// fences a dead predecessor with the same transactional id and makes Kafka
// abort its open transaction. It then reads the marker topic, read
// committed, up to the end it had when the read began, waiting (at most the
// marker wait) for transactions other producers still hold open there.
func (t *TxTarget) ReadMarker(ctx context.Context, changeID string) (targets.Marker, bool, error) {
	if err := t.ensureMarkerTopic(ctx); err != nil {
		return targets.Marker{}, false, err
	}
	if _, _, err := t.tx.ProducerID(ctx); err != nil {
		return targets.Marker{}, false, fmt.Errorf("kafka target %q: initialising the transactional producer: %w", t.id, err)
	}
	return t.readMarker(ctx, changeID)
}

func (t *TxTarget) readMarker(ctx context.Context, changeID string) (targets.Marker, bool, error) {
	var m targets.Marker
	found := false
	err := readCommitted(ctx, t.client, t.markerTopic, t.markerWait, func(r *kgo.Record) error {
		if string(r.Key) != changeID {
			return nil
		}
		if r.Value == nil { // a tombstone deletes the marker
			found = false
			return nil
		}
		var v markerValue
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return fmt.Errorf("marker record at %s/%d offset %d is not a marker: %w", r.Topic, r.Partition, r.Offset, err)
		}
		m, found = targets.Marker{ChangeID: changeID, RunID: v.RunID, Token: v.Token}, true
		return nil
	})
	if err != nil {
		return targets.Marker{}, false, fmt.Errorf("kafka target %q: read marker of %q from %s: %w", t.id, changeID, t.markerTopic, err)
	}
	return m, found, nil
}

// markerValue is the JSON value of a marker record; the key is the change
// id.
type markerValue struct {
	RunID string `json:"run_id"`
	Token int64  `json:"token"`
}

// Tx is an open Kafka transaction on a [TxTarget].
type Tx struct {
	t *TxTarget
}

// Provide gives transactional changes the transactional *kgo.Client. What
// they produce with it is part of the transaction; records produced
// asynchronously are flushed before the commit.
func (x *Tx) Provide(d *targets.Deps) { targets.Provide(d, x.t.tx) }

// WriteMarker produces the change's marker record inside the transaction,
// unless the marker topic already holds a committed marker for the change
// with a token at or above since: then another attempt committed the
// change and WriteMarker returns a *[targets.MarkerConflictError].
//
// Kafka has no conditional write, so the check and the write are two steps.
// Runs hold the audit store's lock, and a stale holder that shares the
// transactional id is fenced by Kafka at its commit; see docs/targets.md.
func (x *Tx) WriteMarker(ctx context.Context, m targets.Marker, since int64) error {
	existing, found, err := x.t.readMarker(ctx, m.ChangeID)
	if err != nil {
		return err
	}
	if found && existing.Token >= since {
		return &targets.MarkerConflictError{Existing: existing}
	}
	value, err := json.Marshal(markerValue{RunID: m.RunID, Token: m.Token})
	if err != nil {
		return err
	}
	rec := &kgo.Record{Topic: x.t.markerTopic, Key: []byte(m.ChangeID), Value: value}
	if err := x.t.tx.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("kafka target %q: write marker of %q to %s: %w", x.t.id, m.ChangeID, x.t.markerTopic, err)
	}
	return nil
}

// Commit flushes what the change produced and commits the transaction. If
// the flush fails, the transaction is aborted and the flush error returned.
func (x *Tx) Commit(ctx context.Context) error {
	if err := x.t.tx.Flush(ctx); err != nil {
		_ = x.Rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("kafka target %q: flush before commit: %w", x.t.id, err)
	}
	if err := x.t.tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		// kgo keeps the client "in a transaction" after a failed commit
		// and expects an abort: without one, every later Begin fails. The
		// abort re-registers the producer, which completes a commit the
		// broker had already prepared or else aborts it, so the marker
		// still tells the next run what happened.
		if aerr := x.t.tx.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort); aerr != nil {
			err = errors.Join(err, fmt.Errorf("abort after the failed commit: %w", aerr))
		}
		return fmt.Errorf("kafka target %q: commit: %w", x.t.id, err)
	}
	return nil
}

// Rollback drops the records still buffered and aborts the transaction:
// read-committed consumers never see what the change produced.
func (x *Tx) Rollback(ctx context.Context) error {
	abortErr := x.t.tx.AbortBufferedRecords(ctx)
	if err := x.t.tx.EndTransaction(ctx, kgo.TryAbort); err != nil {
		// Once more, detached: a client left in its transaction cannot
		// begin the next one.
		if err2 := x.t.tx.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort); err2 != nil {
			return fmt.Errorf("kafka target %q: abort: %w", x.t.id, errors.Join(abortErr, err, err2))
		}
	}
	return abortErr
}

package targets

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/flamingock/flamingock-go/audit"
)

// Target is a target system: a business system changes are applied to.
// Packages under targets/ implement it for PostgreSQL, SQL databases, Kafka,
// S3 and more; the runtime's NewDependencyTarget covers anything else.
type Target interface {
	// ID is the id changes name in their directive's target= key.
	ID() string
	// Provide adds to deps what a change receives when it runs outside a
	// transaction (for a SQL database, the *sql.DB).
	Provide(deps *Deps)
}

// Transactional is a target whose changes can run inside a
// transaction. Changes declared transactional (the default) run under the
// shared-transaction or the commit-marker protocol; see docs/protocols.md.
type Transactional interface {
	Target
	// TxTypes lists the types a change receives inside a transaction, so
	// that dependencies are validated before anything runs.
	TxTypes() []reflect.Type
	// Begin starts a transaction.
	Begin(ctx context.Context) (Tx, error)
	// ReadMarker returns the commit marker of a change, if there is one.
	ReadMarker(ctx context.Context, changeID string) (Marker, bool, error)
	// SharedAudit returns an appender that writes audit entries inside this
	// target's transactions, when store keeps its trail in the same database
	// as the target. ok is false otherwise.
	SharedAudit(store audit.Store) (append TxAppender, ok bool)
}

// TxAppender appends an audit entry inside a target transaction. The append
// must be fenced like [audit.Store.Append].
type TxAppender func(ctx context.Context, tx Tx, e audit.Entry) (audit.Entry, error)

// Tx is an open transaction on a target.
type Tx interface {
	// Provide adds to deps what a change receives inside the transaction
	// (for a SQL database, the *sql.Tx).
	Provide(deps *Deps)
	// WriteMarker records, inside the transaction, that m.ChangeID is being
	// committed by run m.RunID holding token m.Token. If a marker for the
	// change already exists with a token at or above since, some other
	// attempt committed the change since it last settled (the runner passes
	// the token of the change's last settled entry plus one; see
	// docs/protocols.md): WriteMarker then returns a *[MarkerConflictError]
	// and the caller must roll back. Otherwise the marker is inserted or
	// replaced.
	WriteMarker(ctx context.Context, m Marker, since int64) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Marker is a commit marker: written in the target inside the change's
// transaction, it proves after a crash that the change committed.
type Marker struct {
	ChangeID string
	RunID    string
	Token    int64
}

// MarkerConflictError is returned by [Tx.WriteMarker] when another
// attempt already committed the change.
type MarkerConflictError struct {
	Existing Marker
}

func (e *MarkerConflictError) Error() string {
	return fmt.Sprintf("change %q was already committed by run %s (marker token %d)", e.Existing.ChangeID, e.Existing.RunID, e.Existing.Token)
}

// ErrNotAtomic marks (through errors.Is) an error a transactional target
// returns when it finds, before recording the change in its transaction,
// that the change's effects were not confined to that transaction: MySQL's
// implicit commit on DDL is one case. Rolling back cannot undo them, so the
// runner records the failure as non-transactional: under recovery "manual"
// the change is an issue an operator resolves, and it is never applied
// again by itself on top of what it left.
var ErrNotAtomic = errors.New("the change's effects escaped its transaction")

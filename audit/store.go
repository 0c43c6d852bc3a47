package audit

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by stores. Stores wrap them with detail; test with
// [errors.Is].
var (
	// ErrLockHeld is returned by [Store.AcquireLock] when another owner holds
	// a lease that has not expired.
	ErrLockHeld = errors.New("audit: lock is held by another owner")
	// ErrLockLost is returned by [Store.RefreshLock] and [Store.ReleaseLock]
	// when the lease is no longer the current one: it expired and someone
	// else took the lock, or it was force-released.
	ErrLockLost = errors.New("audit: lock lease lost")
	// ErrFenced is returned by [Store.Append] when the entry's fencing token
	// is not the current lease's token, or the lease has expired.
	ErrFenced = errors.New("audit: write rejected: fencing token is not current")
	// ErrClosed is returned by any method called after [Store.Close].
	ErrClosed = errors.New("audit: store is closed")
	// ErrNoLock is returned by [Store.LockInfo] when nobody holds the lock.
	ErrNoLock = errors.New("audit: lock is not held")
	// ErrHistoryMissing is returned when a store is opened on backing data
	// whose history (the record every other part is derived from) is gone
	// while parts derived from it remain. The store refuses to start an
	// empty trail over them: restore the history, or remove the remaining
	// parts on purpose to start a new trail.
	ErrHistoryMissing = errors.New("audit: the audit history is missing but tables derived from it exist")
)

// Owner identifies who holds a lease.
type Owner struct {
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	RunID string `json:"run_id"`
}

// Lease is a granted lock.
type Lease struct {
	Owner Owner `json:"owner"`
	// Token is the fencing token: it increases with every acquisition of the
	// lock, so a newer holder always has a larger one.
	Token int64 `json:"token"`
	// AcquiredAt and ExpiresAt come from the store's clock.
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// LockInfo describes the lock as stored, for operators.
type LockInfo struct {
	Lease
	// Now is the store's clock when the lock was read, so a reader can tell
	// whether the lease is still valid without trusting its own clock.
	Now time.Time `json:"now"`
}

// Valid reports whether the lease was still valid at the store time Now.
func (l LockInfo) Valid() bool { return l.Now.Before(l.ExpiresAt) }

// Store is an audit store: an append-only history with a latest-state view
// and the lease lock that serialises runs.
//
// Implementations are safe for concurrent use.
type Store interface {
	// Append records e. The store assigns e.Seq and e.CreatedAt (from its own
	// clock) and updates the latest state of e.ChangeID in the same atomic
	// step. It returns [ErrFenced] when e.Token is not the current,
	// unexpired lease's token; nothing is written then.
	Append(ctx context.Context, e Entry) (Entry, error)
	// Snapshot returns the latest entry per change. Its cost must not grow
	// with the length of the history.
	Snapshot(ctx context.Context) (Snapshot, error)
	// History returns the entries that match q, oldest first.
	History(ctx context.Context, q HistoryQuery) ([]Entry, error)

	// AcquireLock takes the lock for owner for ttl, judged by the store's
	// clock, if nobody holds an unexpired lease. It returns [ErrLockHeld]
	// otherwise. It does not wait.
	AcquireLock(ctx context.Context, owner Owner, ttl time.Duration) (Lease, error)
	// RefreshLock extends the lease to ttl from now (store clock). It returns
	// [ErrLockLost] if l is no longer the current lease or has expired.
	RefreshLock(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLock gives the lock up. It returns [ErrLockLost] if l is no
	// longer the current lease.
	ReleaseLock(ctx context.Context, l Lease) error
	// LockInfo returns the stored lease, or [ErrNoLock].
	LockInfo(ctx context.Context) (LockInfo, error)
	// ForceReleaseLock removes whatever lease is stored, valid or not. It is
	// meant for operators; the fencing token keeps increasing afterwards.
	ForceReleaseLock(ctx context.Context) error

	// Close releases the store's resources. Calls after Close return
	// [ErrClosed].
	Close() error
}

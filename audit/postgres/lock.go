package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flamingock/flamingock-go/audit"
)

// ttlMicros converts a lease length to the microseconds the SQL adds to
// clock_timestamp().
func ttlMicros(ttl time.Duration) (int64, error) {
	if ttl < time.Microsecond {
		return 0, fmt.Errorf("postgres audit store: lease ttl %s is too short (minimum 1µs)", ttl)
	}
	return ttl.Microseconds(), nil
}

// AcquireLock implements [audit.Store.AcquireLock] as one conditional
// upsert, with the expiry computed by the database clock. It returns
// [audit.ErrLockHeld] when another owner holds an unexpired lease.
func (s *Store) AcquireLock(ctx context.Context, owner audit.Owner, ttl time.Duration) (audit.Lease, error) {
	if s.closed.Load() {
		return audit.Lease{}, audit.ErrClosed
	}
	micros, err := ttlMicros(ttl)
	if err != nil {
		return audit.Lease{}, err
	}
	l := audit.Lease{Owner: owner}
	err = s.pool.QueryRow(ctx, s.q.acquire, s.cfg.lockKey, owner.Host, int32(owner.PID), owner.RunID, micros).
		Scan(&l.Token, &l.AcquiredAt, &l.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Lease{}, s.heldError(ctx)
	}
	if err != nil {
		return audit.Lease{}, fmt.Errorf("postgres audit store: acquire lock in %s: %w", s.cfg.qualify(s.cfg.lock), err)
	}
	return l, nil
}

// heldError says who holds the lock, read after a failed acquisition. The
// read is for the message only; if it fails or the lease is gone by then,
// the bare sentinel is returned.
func (s *Store) heldError(ctx context.Context) error {
	var h audit.Lease
	err := s.pool.QueryRow(ctx, s.q.holder, s.cfg.lockKey).
		Scan(&h.Owner.Host, &h.Owner.PID, &h.Owner.RunID, &h.Token, &h.AcquiredAt, &h.ExpiresAt)
	if err != nil {
		return audit.ErrLockHeld
	}
	return fmt.Errorf("%w: held by %s pid %d (run %s, token %d) until %s",
		audit.ErrLockHeld, h.Owner.Host, h.Owner.PID, h.Owner.RunID, h.Token, h.ExpiresAt.UTC().Format(time.RFC3339Nano))
}

// RefreshLock implements [audit.Store.RefreshLock]. It returns
// [audit.ErrLockLost] when l is no longer the current lease or has expired.
func (s *Store) RefreshLock(ctx context.Context, l audit.Lease, ttl time.Duration) (audit.Lease, error) {
	if s.closed.Load() {
		return audit.Lease{}, audit.ErrClosed
	}
	micros, err := ttlMicros(ttl)
	if err != nil {
		return audit.Lease{}, err
	}
	err = s.pool.QueryRow(ctx, s.q.refresh, s.cfg.lockKey, l.Token, micros).Scan(&l.AcquiredAt, &l.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Lease{}, fmt.Errorf("%w (token %d)", audit.ErrLockLost, l.Token)
	}
	if err != nil {
		return audit.Lease{}, fmt.Errorf("postgres audit store: refresh lock in %s: %w", s.cfg.qualify(s.cfg.lock), err)
	}
	return l, nil
}

// ReleaseLock implements [audit.Store.ReleaseLock]. The lock row is kept,
// marked released, so the next acquisition's token is still larger. It
// returns [audit.ErrLockLost] when l is no longer the current lease.
func (s *Store) ReleaseLock(ctx context.Context, l audit.Lease) error {
	if s.closed.Load() {
		return audit.ErrClosed
	}
	tag, err := s.pool.Exec(ctx, s.q.release, s.cfg.lockKey, l.Token)
	if err != nil {
		return fmt.Errorf("postgres audit store: release lock in %s: %w", s.cfg.qualify(s.cfg.lock), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w (token %d)", audit.ErrLockLost, l.Token)
	}
	return nil
}

// LockInfo implements [audit.Store.LockInfo]. Now is the database's clock
// at the time of the read. It returns [audit.ErrNoLock] when the lock is
// not held.
func (s *Store) LockInfo(ctx context.Context) (audit.LockInfo, error) {
	if s.closed.Load() {
		return audit.LockInfo{}, audit.ErrClosed
	}
	var (
		li  audit.LockInfo
		pid int32
	)
	err := s.pool.QueryRow(ctx, s.q.lockInfo, s.cfg.lockKey).
		Scan(&li.Owner.Host, &pid, &li.Owner.RunID, &li.Token, &li.AcquiredAt, &li.ExpiresAt, &li.Now)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.LockInfo{}, audit.ErrNoLock
	}
	if err != nil {
		return audit.LockInfo{}, fmt.Errorf("postgres audit store: read lock from %s: %w", s.cfg.qualify(s.cfg.lock), err)
	}
	li.Owner.PID = int(pid)
	return li, nil
}

// ForceReleaseLock implements [audit.Store.ForceReleaseLock].
func (s *Store) ForceReleaseLock(ctx context.Context) error {
	if s.closed.Load() {
		return audit.ErrClosed
	}
	if _, err := s.pool.Exec(ctx, s.q.forceFree, s.cfg.lockKey); err != nil {
		return fmt.Errorf("postgres audit store: force-release lock in %s: %w", s.cfg.qualify(s.cfg.lock), err)
	}
	return nil
}

package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// ttlMicros converts a lease length to the microseconds the SQL adds to
// UTC_TIMESTAMP(6).
func ttlMicros(ttl time.Duration) (int64, error) {
	if ttl < time.Microsecond {
		return 0, fmt.Errorf("mysql audit store: lease ttl %s is too short (minimum 1µs)", ttl)
	}
	return ttl.Microseconds(), nil
}

// AcquireLock implements [audit.Store.AcquireLock]: one conditional UPDATE
// of the lock row, with the expiry computed by the database clock, and a
// read of what it wrote, in one transaction. The first acquisition on a
// database creates the row. It returns [audit.ErrLockHeld] when another
// owner holds an unexpired lease.
func (s *Store) AcquireLock(ctx context.Context, owner audit.Owner, ttl time.Duration) (audit.Lease, error) {
	if s.closed.Load() {
		return audit.Lease{}, audit.ErrClosed
	}
	micros, err := ttlMicros(ttl)
	if err != nil {
		return audit.Lease{}, err
	}
	l := audit.Lease{Owner: owner}
	var taken bool
	for attempt := 1; ; attempt++ {
		taken, err = s.acquireOnce(ctx, owner, micros, &l)
		// Processes that create the lock row at the same moment can
		// deadlock on the new key; the server rolls one back.
		if mysqlErrno(err) != errDeadlock || attempt == 3 {
			break
		}
	}
	if err != nil {
		return audit.Lease{}, fmt.Errorf("mysql audit store: acquire lock in %s: %w", quote(s.cfg.lock), err)
	}
	if !taken {
		return audit.Lease{}, s.heldError(ctx)
	}
	return l, nil
}

// acquireOnce tries the conditional update; when it takes nothing because
// the lock row does not exist (the first acquisition on a database, or a
// lock table recreated), it creates the row, released, and tries again.
func (s *Store) acquireOnce(ctx context.Context, owner audit.Owner, micros int64, l *audit.Lease) (bool, error) {
	taken, err := s.tryAcquire(ctx, owner, micros, l)
	if err != nil || taken {
		return taken, err
	}
	var exists int
	switch err := s.db.QueryRowContext(ctx, s.q.lockExists, s.cfg.lockKey).Scan(&exists); {
	case err == nil:
		return false, nil // held by someone else
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	// The new row starts at the highest fencing token the trail's entries
	// carry, so that tokens never go backwards when the lock table was
	// dropped. Read without locking: with no lock row, no append can be
	// fenced in meanwhile.
	var token int64
	if err := s.db.QueryRowContext(ctx, s.q.maxToken).Scan(&token); err != nil {
		return false, err
	}
	if _, err := s.db.ExecContext(ctx, s.q.lockRow, s.cfg.lockKey, token); err != nil {
		return false, err
	}
	return s.tryAcquire(ctx, owner, micros, l)
}

// tryAcquire runs the conditional update and, if it took the lock, reads
// the token and times it wrote before committing.
func (s *Store) tryAcquire(ctx context.Context, owner audit.Owner, micros int64, l *audit.Lease) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q.acquire, owner.Host, int32(owner.PID), owner.RunID, micros, s.cfg.lockKey)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	var acquired, expires dbTime
	if err := tx.QueryRowContext(ctx, s.q.acquired, s.cfg.lockKey).Scan(&l.Token, &acquired, &expires); err != nil {
		return false, err
	}
	l.AcquiredAt, l.ExpiresAt = acquired.Time, expires.Time
	return true, tx.Commit()
}

// heldError says who holds the lock, read after a failed acquisition. The
// read is for the message only; if it fails or the lease is gone by then,
// the bare sentinel is returned.
func (s *Store) heldError(ctx context.Context) error {
	var (
		h                 audit.Lease
		acquired, expires dbTime
	)
	err := s.db.QueryRowContext(ctx, s.q.holder, s.cfg.lockKey).
		Scan(&h.Owner.Host, &h.Owner.PID, &h.Owner.RunID, &h.Token, &acquired, &expires)
	if err != nil {
		return audit.ErrLockHeld
	}
	return fmt.Errorf("%w: held by %s pid %d (run %s, token %d) until %s",
		audit.ErrLockHeld, h.Owner.Host, h.Owner.PID, h.Owner.RunID, h.Token, expires.UTC().Format(time.RFC3339Nano))
}

// RefreshLock implements [audit.Store.RefreshLock]: a conditional UPDATE
// and a read of the new expiry, in one transaction. It returns
// [audit.ErrLockLost] when l is no longer the current lease or has expired.
func (s *Store) RefreshLock(ctx context.Context, l audit.Lease, ttl time.Duration) (audit.Lease, error) {
	if s.closed.Load() {
		return audit.Lease{}, audit.ErrClosed
	}
	micros, err := ttlMicros(ttl)
	if err != nil {
		return audit.Lease{}, err
	}
	fail := func(err error) (audit.Lease, error) {
		return audit.Lease{}, fmt.Errorf("mysql audit store: refresh lock in %s: %w", quote(s.cfg.lock), err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q.refresh, micros, s.cfg.lockKey, l.Token)
	if err != nil {
		return fail(err)
	}
	// The update sets LAST_INSERT_ID to the token when its WHERE matched,
	// and leaves it 0 otherwise. Rows affected would not do: the driver
	// counts changed rows, and two refreshes within a microsecond change
	// nothing.
	if id, err := res.LastInsertId(); err != nil {
		return fail(err)
	} else if id != l.Token {
		return audit.Lease{}, fmt.Errorf("%w (token %d)", audit.ErrLockLost, l.Token)
	}
	var token int64
	var acquired, expires dbTime
	if err := tx.QueryRowContext(ctx, s.q.acquired, s.cfg.lockKey).Scan(&token, &acquired, &expires); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	l.AcquiredAt, l.ExpiresAt = acquired.Time, expires.Time
	return l, nil
}

// ReleaseLock implements [audit.Store.ReleaseLock]. The lock row is kept,
// marked released, so the next acquisition's token is still larger. It
// returns [audit.ErrLockLost] when l is no longer the current lease.
func (s *Store) ReleaseLock(ctx context.Context, l audit.Lease) error {
	if s.closed.Load() {
		return audit.ErrClosed
	}
	res, err := s.db.ExecContext(ctx, s.q.release, s.cfg.lockKey, l.Token)
	if err != nil {
		return fmt.Errorf("mysql audit store: release lock in %s: %w", quote(s.cfg.lock), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mysql audit store: release lock in %s: %w", quote(s.cfg.lock), err)
	} else if n == 0 {
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
		li                     audit.LockInfo
		acquired, expires, now dbTime
	)
	err := s.db.QueryRowContext(ctx, s.q.lockInfo, s.cfg.lockKey).
		Scan(&li.Owner.Host, &li.Owner.PID, &li.Owner.RunID, &li.Token, &acquired, &expires, &now)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.LockInfo{}, audit.ErrNoLock
	}
	if err != nil {
		return audit.LockInfo{}, fmt.Errorf("mysql audit store: read lock from %s: %w", quote(s.cfg.lock), err)
	}
	li.AcquiredAt, li.ExpiresAt, li.Now = acquired.Time, expires.Time, now.Time
	return li, nil
}

// ForceReleaseLock implements [audit.Store.ForceReleaseLock].
func (s *Store) ForceReleaseLock(ctx context.Context) error {
	if s.closed.Load() {
		return audit.ErrClosed
	}
	if _, err := s.db.ExecContext(ctx, s.q.forceFree, s.cfg.lockKey); err != nil {
		return fmt.Errorf("mysql audit store: force-release lock in %s: %w", quote(s.cfg.lock), err)
	}
	return nil
}

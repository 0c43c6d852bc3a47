package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// ttlMillis converts a lease length to whole milliseconds, rounding up so
// that a positive ttl never becomes an already-expired lease.
func ttlMillis(ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("sqlite audit store: lease ttl %v is not positive", ttl)
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// inTx runs fn in a write transaction of its own.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// inTxNoWait is inTx on a connection whose busy timeout is zero while the
// transaction begins and runs: [audit.Store.AcquireLock] must not wait, the
// caller does (the runner with its own lock wait, so that WithLockWait(0)
// tries once instead of sitting out the busy timeout). The connection's
// own busy timeout is put back before it returns to the pool; if that
// fails the connection is discarded.
func (s *Store) inTxNoWait(ctx context.Context, fn func(*sql.Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var timeout int64
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", timeout)); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// AcquireLock implements [audit.Store.AcquireLock]. Expiry is judged by
// SQLite's clock, and the check and the takeover are one statement. It does
// not wait for SQLite's write lock: when another connection holds it (most
// likely the holder of the run lock, in a long shared transaction), the
// lock is reported held at once.
func (s *Store) AcquireLock(ctx context.Context, owner audit.Owner, ttl time.Duration) (audit.Lease, error) {
	if err := s.check(ctx); err != nil {
		return audit.Lease{}, err
	}
	ms, err := ttlMillis(ttl)
	if err != nil {
		return audit.Lease{}, err
	}
	l := audit.Lease{Owner: owner}
	var held bool
	err = s.inTxNoWait(ctx, func(tx *sql.Tx) error {
		var acquired, expires int64
		err := tx.QueryRowContext(ctx, s.sql.acquire, s.cfg.lockKey, owner.Host, owner.PID, owner.RunID, ms).
			Scan(&l.Token, &acquired, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			held = true
			return nil
		}
		l.AcquiredAt, l.ExpiresAt = fromMillis(acquired), fromMillis(expires)
		return err
	})
	if isBusyOrLocked(err) {
		// Another connection holds SQLite's write lock: most likely a
		// change running in a long shared transaction, which holds the
		// run lock too. To the caller that is a held lock, to wait for,
		// not a broken store.
		return audit.Lease{}, fmt.Errorf("sqlite audit store: lock %q: the database is busy (another connection holds its write lock, e.g. a change in a long shared transaction): %w (%w)",
			s.cfg.lockKey, audit.ErrLockHeld, err)
	}
	if err != nil {
		return audit.Lease{}, fmt.Errorf("sqlite audit store: acquire lock %q: %w", s.cfg.lockKey, err)
	}
	if held {
		// Read the holder for the message only; it may have changed since.
		if info, err := s.LockInfo(ctx); err == nil {
			return audit.Lease{}, fmt.Errorf("sqlite audit store: lock %q held by %s pid %d run %s until %v: %w",
				s.cfg.lockKey, info.Owner.Host, info.Owner.PID, info.Owner.RunID, info.ExpiresAt, audit.ErrLockHeld)
		}
		return audit.Lease{}, fmt.Errorf("sqlite audit store: lock %q: %w", s.cfg.lockKey, audit.ErrLockHeld)
	}
	return l, nil
}

// RefreshLock implements [audit.Store.RefreshLock].
func (s *Store) RefreshLock(ctx context.Context, l audit.Lease, ttl time.Duration) (audit.Lease, error) {
	if err := s.check(ctx); err != nil {
		return audit.Lease{}, err
	}
	ms, err := ttlMillis(ttl)
	if err != nil {
		return audit.Lease{}, err
	}
	var lost bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var acquired, expires int64
		err := tx.QueryRowContext(ctx, s.sql.refresh, ms, s.cfg.lockKey, l.Token).
			Scan(&l.Owner.Host, &l.Owner.PID, &l.Owner.RunID, &acquired, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			lost = true
			return nil
		}
		l.AcquiredAt, l.ExpiresAt = fromMillis(acquired), fromMillis(expires)
		return err
	})
	if err != nil {
		return audit.Lease{}, fmt.Errorf("sqlite audit store: refresh lock %q: %w", s.cfg.lockKey, err)
	}
	if lost {
		return audit.Lease{}, fmt.Errorf("sqlite audit store: refresh lock %q with token %d: %w", s.cfg.lockKey, l.Token, audit.ErrLockLost)
	}
	return l, nil
}

// ReleaseLock implements [audit.Store.ReleaseLock]. Releasing a lease that
// expired but that nobody has taken over succeeds.
func (s *Store) ReleaseLock(ctx context.Context, l audit.Lease) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.sql.release, s.cfg.lockKey, l.Token)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite audit store: release lock %q: %w", s.cfg.lockKey, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite audit store: release lock %q with token %d: %w", s.cfg.lockKey, l.Token, audit.ErrLockLost)
	}
	return nil
}

// ForceReleaseLock implements [audit.Store.ForceReleaseLock]. The lock row
// stays, so the next acquisition still gets a larger token.
func (s *Store) ForceReleaseLock(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.sql.forceRelease, s.cfg.lockKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite audit store: force release lock %q: %w", s.cfg.lockKey, err)
	}
	return nil
}

// LockInfo implements [audit.Store.LockInfo]. A lease that expired but was
// not released is still reported; [audit.LockInfo.Valid] tells them apart.
func (s *Store) LockInfo(ctx context.Context) (audit.LockInfo, error) {
	if err := s.check(ctx); err != nil {
		return audit.LockInfo{}, err
	}
	var (
		info                   audit.LockInfo
		acquired, expires, now int64
	)
	err := s.db.QueryRowContext(ctx, s.sql.lockInfo, s.cfg.lockKey).
		Scan(&info.Token, &info.Owner.Host, &info.Owner.PID, &info.Owner.RunID, &acquired, &expires, &now)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.LockInfo{}, audit.ErrNoLock
	}
	if err != nil {
		return audit.LockInfo{}, fmt.Errorf("sqlite audit store: read lock %q: %w", s.cfg.lockKey, err)
	}
	info.AcquiredAt, info.ExpiresAt, info.Now = fromMillis(acquired), fromMillis(expires), fromMillis(now)
	return info, nil
}

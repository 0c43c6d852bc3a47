package couchbase

import (
	"context"
	"fmt"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
)

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("couchbase audit store: lease ttl %v is not positive", ttl)
	}
	return nil
}

// tick stamps the state document with a mutation that changes nothing the
// store reads (it records the CAS it replaces in "clock"), conditional on
// cas, and returns the new CAS: the server's time now, to the nanosecond.
// Lease grants and refreshes take their times from it.
func (s *Store) tick(ctx context.Context, cas gocb.Cas) (gocb.Cas, error) {
	res, err := s.coll.MutateIn(s.stateKey, []gocb.MutateInSpec{
		gocb.UpsertSpec("clock", uint64(cas), nil),
	}, &gocb.MutateInOptions{Cas: cas, Context: ctx})
	if err != nil {
		return 0, err
	}
	return res.Cas(), nil
}

// writeLease stores l as the lease, conditional on cas.
func (s *Store) writeLease(ctx context.Context, cas gocb.Cas, l lockDoc) error {
	_, err := s.coll.MutateIn(s.stateKey, []gocb.MutateInSpec{
		gocb.UpsertSpec("token", l.Token, nil),
		gocb.UpsertSpec("lock", l, nil),
	}, &gocb.MutateInOptions{Cas: cas, Context: ctx})
	return err
}

// AcquireLock implements [audit.Store.AcquireLock]. While a Couchbase
// transaction is staged on the state document it answers
// [audit.ErrLockHeld]: the transaction's owner is still at work.
func (s *Store) AcquireLock(ctx context.Context, owner audit.Owner, ttl time.Duration) (audit.Lease, error) {
	if err := checkTTL(ttl); err != nil {
		return audit.Lease{}, err
	}
	for {
		if err := s.check(ctx); err != nil {
			return audit.Lease{}, err
		}
		st, err := s.readState(ctx)
		if err != nil {
			return audit.Lease{}, err
		}
		if st.staged {
			return audit.Lease{}, fmt.Errorf("couchbase audit store: a Couchbase transaction is staged on %s: %w", s.where(s.stateKey), audit.ErrLockHeld)
		}
		if st.lock != nil && st.now.Before(nsTime(st.lock.ExpiresNs)) {
			return audit.Lease{}, heldError(st.lock)
		}
		cas, err := s.tick(ctx, st.cas)
		if isCasMismatch(err) {
			continue // the state changed since the read: decide again
		}
		if err != nil {
			return audit.Lease{}, fmt.Errorf("couchbase audit store: acquire lock in %s: %w", s.where(s.stateKey), err)
		}
		now := casTime(cas)
		if st.lock != nil && now.Before(nsTime(st.lock.ExpiresNs)) {
			return audit.Lease{}, heldError(st.lock)
		}
		l := lockDoc{Owner: owner, Token: st.token + 1, AcquiredNs: now.UnixNano(), ExpiresNs: now.Add(ttl).UnixNano()}
		err = s.writeLease(ctx, cas, l)
		if isCasMismatch(err) {
			continue
		}
		if err != nil {
			return audit.Lease{}, fmt.Errorf("couchbase audit store: acquire lock in %s: %w", s.where(s.stateKey), err)
		}
		return l.lease(), nil
	}
}

func heldError(l *lockDoc) error {
	return fmt.Errorf("couchbase audit store: held by %+v (token %d) until %v: %w", l.Owner, l.Token, nsTime(l.ExpiresNs), audit.ErrLockHeld)
}

// RefreshLock implements [audit.Store.RefreshLock].
func (s *Store) RefreshLock(ctx context.Context, l audit.Lease, ttl time.Duration) (audit.Lease, error) {
	if err := checkTTL(ttl); err != nil {
		return audit.Lease{}, err
	}
	lost := func() (audit.Lease, error) {
		return audit.Lease{}, fmt.Errorf("couchbase audit store: refresh lease with token %d: %w", l.Token, audit.ErrLockLost)
	}
	for {
		if err := s.check(ctx); err != nil {
			return audit.Lease{}, err
		}
		st, err := s.readUnstaged(ctx)
		if err != nil {
			return audit.Lease{}, err
		}
		if !st.valid(l.Token) {
			return lost()
		}
		cas, err := s.tick(ctx, st.cas)
		if isCasMismatch(err) {
			continue
		}
		if err != nil {
			return audit.Lease{}, fmt.Errorf("couchbase audit store: refresh lock in %s: %w", s.where(s.stateKey), err)
		}
		now := casTime(cas)
		if !now.Before(nsTime(st.lock.ExpiresNs)) {
			return lost()
		}
		next := *st.lock
		next.ExpiresNs = now.Add(ttl).UnixNano()
		err = s.writeLease(ctx, cas, next)
		if isCasMismatch(err) {
			continue
		}
		if err != nil {
			return audit.Lease{}, fmt.Errorf("couchbase audit store: refresh lock in %s: %w", s.where(s.stateKey), err)
		}
		return next.lease(), nil
	}
}

// removeLock removes the stored lease, conditional on cas.
func (s *Store) removeLock(ctx context.Context, cas gocb.Cas) error {
	_, err := s.coll.MutateIn(s.stateKey, []gocb.MutateInSpec{gocb.RemoveSpec("lock", nil)},
		&gocb.MutateInOptions{Cas: cas, Context: ctx})
	return err
}

// ReleaseLock implements [audit.Store.ReleaseLock]. Releasing a lease that
// expired but that nobody took over succeeds.
func (s *Store) ReleaseLock(ctx context.Context, l audit.Lease) error {
	for {
		if err := s.check(ctx); err != nil {
			return err
		}
		st, err := s.readUnstaged(ctx)
		if err != nil {
			return err
		}
		if st.lock == nil || st.lock.Token != l.Token {
			return fmt.Errorf("couchbase audit store: release lease with token %d: %w", l.Token, audit.ErrLockLost)
		}
		err = s.removeLock(ctx, st.cas)
		if isCasMismatch(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("couchbase audit store: release lock in %s: %w", s.where(s.stateKey), err)
		}
		return nil
	}
}

// LockInfo implements [audit.Store.LockInfo]. A lease that expired but was
// not released is still reported; [audit.LockInfo.Valid] tells them apart.
func (s *Store) LockInfo(ctx context.Context) (audit.LockInfo, error) {
	if err := s.check(ctx); err != nil {
		return audit.LockInfo{}, err
	}
	st, err := s.readState(ctx)
	if err != nil {
		return audit.LockInfo{}, err
	}
	if st.lock == nil {
		return audit.LockInfo{}, audit.ErrNoLock
	}
	return audit.LockInfo{Lease: st.lock.lease(), Now: st.now}, nil
}

// ForceReleaseLock implements [audit.Store.ForceReleaseLock].
func (s *Store) ForceReleaseLock(ctx context.Context) error {
	for {
		if err := s.check(ctx); err != nil {
			return err
		}
		st, err := s.readUnstaged(ctx)
		if err != nil {
			return err
		}
		if st.lock == nil {
			return nil
		}
		err = s.removeLock(ctx, st.cas)
		if isCasMismatch(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("couchbase audit store: force-release lock in %s: %w", s.where(s.stateKey), err)
		}
		return nil
	}
}

package memory

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// Option configures a [Backend].
type Option interface{ apply(*Backend) }

type optionFunc func(*Backend)

func (f optionFunc) apply(b *Backend) { f(b) }

// WithClock makes now the store's clock: entry times and lease expiry are
// read from it. A nil now keeps the default, [time.Now].
func WithClock(now func() time.Time) Option {
	return optionFunc(func(b *Backend) {
		if now != nil {
			b.now = now
		}
	})
}

// Backend is the data that every [Store] opened on it shares: the history,
// the latest entry per change and the lock. It is safe for concurrent use.
type Backend struct {
	now func() time.Time

	mu      sync.Mutex
	entries []audit.Entry
	latest  map[string]int // change id -> index in entries
	digest  audit.AppliedDigest
	lease   audit.Lease
	held    bool  // whether lease is stored (expired or not)
	token   int64 // last token handed out; survives release
}

// NewBackend returns an empty backend.
func NewBackend(opts ...Option) *Backend {
	b := &Backend{now: time.Now, latest: map[string]int{}}
	for _, o := range opts {
		o.apply(b)
	}
	return b
}

// Open returns a new handle on the backend. Closing it leaves the backend's
// data, and other handles, untouched.
func (b *Backend) Open() *Store { return &Store{b: b} }

// New returns a store on a fresh backend of its own.
func New(opts ...Option) *Store { return NewBackend(opts...).Open() }

// Store is one handle on a [Backend]. It implements [audit.Store].
type Store struct {
	b      *Backend
	closed atomic.Bool
}

var _ audit.DigestStore = (*Store)(nil)

// clock reads the store's clock without the monotonic reading, so the times
// handed out compare equal to themselves after a round trip.
func (b *Backend) clock() time.Time { return b.now().Round(0) }

// begin checks the handle and the context, then locks the backend. The
// caller must unlock.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return audit.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.b.mu.Lock()
	return nil
}

// leaseValid reports whether token is the current lease's and it has not
// expired at now. b.mu must be held.
func (b *Backend) leaseValid(token int64, now time.Time) bool {
	return b.held && b.lease.Token == token && now.Before(b.lease.ExpiresAt)
}

// copyEntry returns e with its own metadata map, so callers cannot reach the
// stored one. An empty map is stored as nil.
func copyEntry(e audit.Entry) audit.Entry {
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	} else {
		e.Metadata = maps.Clone(e.Metadata)
	}
	return e
}

// Append implements [audit.Store.Append].
func (s *Store) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if err := e.Validate(); err != nil {
		return audit.Entry{}, err
	}
	if err := s.begin(ctx); err != nil {
		return audit.Entry{}, err
	}
	defer s.b.mu.Unlock()
	now := s.b.clock()
	if !s.b.leaseValid(e.Token, now) {
		return audit.Entry{}, fmt.Errorf("memory audit store: append %s %s with token %d: %w", e.ChangeID, e.State, e.Token, audit.ErrFenced)
	}
	e = copyEntry(e)
	e.Seq = int64(len(s.b.entries)) + 1
	e.CreatedAt = now
	if i, ok := s.b.latest[e.ChangeID]; ok && audit.IsAppliedState(s.b.entries[i].State) {
		prev := s.b.entries[i]
		s.b.digest.Remove(audit.ChangeDigest(prev.ChangeID, prev.Checksum))
	}
	if audit.IsAppliedState(e.State) {
		s.b.digest.Add(audit.ChangeDigest(e.ChangeID, e.Checksum))
	}
	s.b.entries = append(s.b.entries, e)
	s.b.latest[e.ChangeID] = len(s.b.entries) - 1
	return copyEntry(e), nil
}

// AppliedDigest implements [audit.DigestStore]. Append keeps the digest
// under the same mutex as the latest-state map.
func (s *Store) AppliedDigest(ctx context.Context) (audit.AppliedDigest, error) {
	if err := s.begin(ctx); err != nil {
		return audit.AppliedDigest{}, err
	}
	defer s.b.mu.Unlock()
	return s.b.digest, nil
}

// Snapshot implements [audit.Store.Snapshot].
func (s *Store) Snapshot(ctx context.Context) (audit.Snapshot, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.b.mu.Unlock()
	snap := make(audit.Snapshot, len(s.b.latest))
	for id, i := range s.b.latest {
		snap[id] = copyEntry(s.b.entries[i])
	}
	return snap, nil
}

// History implements [audit.Store.History].
func (s *Store) History(ctx context.Context, q audit.HistoryQuery) ([]audit.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.b.mu.Unlock()
	var out []audit.Entry
	for _, e := range s.b.entries {
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
		if q.Matches(e) {
			out = append(out, copyEntry(e))
		}
	}
	return out, nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("memory audit store: lease ttl %v is not positive", ttl)
	}
	return nil
}

// AcquireLock implements [audit.Store.AcquireLock].
func (s *Store) AcquireLock(ctx context.Context, owner audit.Owner, ttl time.Duration) (audit.Lease, error) {
	if err := checkTTL(ttl); err != nil {
		return audit.Lease{}, err
	}
	if err := s.begin(ctx); err != nil {
		return audit.Lease{}, err
	}
	defer s.b.mu.Unlock()
	now := s.b.clock()
	if s.b.held && now.Before(s.b.lease.ExpiresAt) {
		return audit.Lease{}, fmt.Errorf("memory audit store: held by %+v until %v: %w", s.b.lease.Owner, s.b.lease.ExpiresAt, audit.ErrLockHeld)
	}
	s.b.token++
	s.b.lease = audit.Lease{Owner: owner, Token: s.b.token, AcquiredAt: now, ExpiresAt: now.Add(ttl)}
	s.b.held = true
	return s.b.lease, nil
}

// RefreshLock implements [audit.Store.RefreshLock].
func (s *Store) RefreshLock(ctx context.Context, l audit.Lease, ttl time.Duration) (audit.Lease, error) {
	if err := checkTTL(ttl); err != nil {
		return audit.Lease{}, err
	}
	if err := s.begin(ctx); err != nil {
		return audit.Lease{}, err
	}
	defer s.b.mu.Unlock()
	now := s.b.clock()
	if !s.b.leaseValid(l.Token, now) {
		return audit.Lease{}, fmt.Errorf("memory audit store: refresh lease with token %d: %w", l.Token, audit.ErrLockLost)
	}
	s.b.lease.ExpiresAt = now.Add(ttl)
	return s.b.lease, nil
}

// ReleaseLock implements [audit.Store.ReleaseLock]. Releasing a lease that
// expired but that nobody has taken over succeeds.
func (s *Store) ReleaseLock(ctx context.Context, l audit.Lease) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.b.mu.Unlock()
	if !s.b.held || s.b.lease.Token != l.Token {
		return fmt.Errorf("memory audit store: release lease with token %d: %w", l.Token, audit.ErrLockLost)
	}
	s.b.held = false
	s.b.lease = audit.Lease{}
	return nil
}

// LockInfo implements [audit.Store.LockInfo]. A lease that expired but was
// not released is still reported; [audit.LockInfo.Valid] tells them apart.
func (s *Store) LockInfo(ctx context.Context) (audit.LockInfo, error) {
	if err := s.begin(ctx); err != nil {
		return audit.LockInfo{}, err
	}
	defer s.b.mu.Unlock()
	if !s.b.held {
		return audit.LockInfo{}, audit.ErrNoLock
	}
	return audit.LockInfo{Lease: s.b.lease, Now: s.b.clock()}, nil
}

// ForceReleaseLock implements [audit.Store.ForceReleaseLock].
func (s *Store) ForceReleaseLock(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.b.mu.Unlock()
	s.b.held = false
	s.b.lease = audit.Lease{}
	return nil
}

// Close implements [audit.Store.Close]. It closes this handle only.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return audit.ErrClosed
	}
	return nil
}

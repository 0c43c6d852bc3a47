package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/flamingock/flamingock-go/audit"
)

var _ audit.DigestStore = (*Store)(nil)

// digestHalves splits a change digest into the two bigints the tables keep
// it in (big-endian), so that SQL's # operator can XOR them.
func digestHalves(d [16]byte) (hi, lo int64) {
	return int64(binary.BigEndian.Uint64(d[:8])), int64(binary.BigEndian.Uint64(d[8:]))
}

func digestFromHalves(count, hi, lo int64) audit.AppliedDigest {
	d := audit.AppliedDigest{Count: count}
	binary.BigEndian.PutUint64(d.Sum[:8], uint64(hi))
	binary.BigEndian.PutUint64(d.Sum[8:], uint64(lo))
	return d
}

// AppliedDigest implements [audit.DigestStore]: one SELECT of the store's
// row in the digest table, which every append keeps up to date in the same
// statement, so its cost does not depend on the number of changes.
//
// When the row is missing or unknown (a lock key used for the first time on
// tables that already have entries, or tables created by an earlier version
// whose rows carry no digest), it computes the digest once from the
// latest-state table, in a transaction that holds appends off that table
// meanwhile, and stores it.
func (s *Store) AppliedDigest(ctx context.Context) (audit.AppliedDigest, error) {
	if s.closed.Load() {
		return audit.AppliedDigest{}, audit.ErrClosed
	}
	var count, hi, lo *int64
	err := s.pool.QueryRow(ctx, s.q.digest, s.cfg.lockKey).Scan(&count, &hi, &lo)
	if err == nil && count != nil && hi != nil && lo != nil {
		return digestFromHalves(*count, *hi, *lo), nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return audit.AppliedDigest{}, fmt.Errorf("postgres audit store: read applied digest from %s: %w", s.cfg.qualify(s.cfg.digestTable()), err)
	}
	d, err := s.recomputeDigest(ctx)
	if err != nil {
		return audit.AppliedDigest{}, fmt.Errorf("postgres audit store: compute applied digest from %s into %s: %w",
			s.cfg.qualify(s.cfg.latest), s.cfg.qualify(s.cfg.digestTable()), err)
	}
	return d, nil
}

// recomputeDigest computes the applied digest from the latest states, fills
// in the per-row digests that are missing or wrong, and saves the result.
// SHARE ROW EXCLUSIVE on the latest-state table conflicts with the lock
// every append takes on it, so no append runs (or is in flight) meanwhile,
// and two recomputations queue rather than interleave.
func (s *Store) recomputeDigest(ctx context.Context) (audit.AppliedDigest, error) {
	var d audit.AppliedDigest
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		d = audit.AppliedDigest{}
		if _, err := tx.Exec(ctx, "LOCK TABLE "+s.cfg.qualify(s.cfg.latest)+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var (
			fixIDs           []string
			fixHis, fixLos   []int64
			id, state, check string
			storedHi         *int64
			storedLo         *int64
		)
		rows, _ := tx.Query(ctx, s.q.digestInit)
		_, err := pgx.ForEachRow(rows, []any{&id, &state, &check, &storedHi, &storedLo}, func() error {
			h := audit.ChangeDigest(id, check)
			hi, lo := digestHalves(h)
			if storedHi == nil || storedLo == nil || *storedHi != hi || *storedLo != lo {
				fixIDs, fixHis, fixLos = append(fixIDs, id), append(fixHis, hi), append(fixLos, lo)
			}
			if audit.IsAppliedState(audit.State(state)) {
				d.Add(h)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(fixIDs) > 0 {
			if _, err := tx.Exec(ctx, s.q.digestFix, fixIDs, fixHis, fixLos); err != nil {
				return err
			}
		}
		hi, lo := digestHalves(d.Sum)
		_, err = tx.Exec(ctx, s.q.digestSave, s.cfg.lockKey, d.Count, hi, lo)
		return err
	})
	return d, err
}

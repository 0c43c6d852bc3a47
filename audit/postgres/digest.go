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
// tables that already have entries, tables created by an earlier version,
// a latest-state table re-created, or either table edited by hand, which
// the guard triggers report by marking the row unknown), it rebuilds the
// latest states and the digest from the history first (see
// [Store.Snapshot]).
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
	return s.rebuild(ctx)
}

// rebuild derives the latest-state table and this lock key's digest row
// from the history, the record: the newest entry of every change, with its
// digest. It runs when the digest row is missing or marked unknown.
//
// SHARE ROW EXCLUSIVE on the latest-state table conflicts with the lock
// every append takes on it, so no append runs (or is in flight) meanwhile,
// and two rebuilds queue rather than interleave; the second finds the row
// valid and stops.
//
// A history with no entries beside latest states is not rebuilt from: that
// would start an empty trail over an existing one ([audit.ErrHistoryMissing]).
func (s *Store) rebuild(ctx context.Context) (audit.AppliedDigest, error) {
	var (
		d                        audit.AppliedDigest
		changed                  bool
		oldRows, oldMax, histMax int64
		newRows                  int
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		d, changed = audit.AppliedDigest{}, false
		if _, err := tx.Exec(ctx, "LOCK TABLE "+s.cfg.qualify(s.cfg.latest)+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var count, hi, lo *int64
		switch err := tx.QueryRow(ctx, s.q.digest, s.cfg.lockKey).Scan(&count, &hi, &lo); {
		case err == nil && count != nil && hi != nil && lo != nil:
			d = digestFromHalves(*count, *hi, *lo) // rebuilt by another instance meanwhile
			return nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if err := tx.QueryRow(ctx, s.q.latestStats).Scan(&oldRows, &oldMax, &histMax); err != nil {
			return err
		}
		var (
			seqs, his, los   []int64
			seq              int64
			id, state, check string
		)
		rows, _ := tx.Query(ctx, s.q.derive)
		_, err := pgx.ForEachRow(rows, []any{&seq, &id, &state, &check}, func() error {
			h := audit.ChangeDigest(id, check)
			hi, lo := digestHalves(h)
			seqs, his, los = append(seqs, seq), append(his, hi), append(los, lo)
			if audit.IsAppliedState(audit.State(state)) {
				d.Add(h)
			}
			return nil
		})
		if err != nil {
			return err
		}
		newRows = len(seqs)
		if newRows == 0 && oldRows > 0 {
			return fmt.Errorf("%w: %s has no entries while %s holds the latest state of %d changes; restore the history, or empty both tables to start a new trail",
				audit.ErrHistoryMissing, s.cfg.qualify(s.cfg.history), s.cfg.qualify(s.cfg.latest), oldRows)
		}
		changed = true
		if _, err := tx.Exec(ctx, s.q.clearLatest); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.refill, seqs, his, los); err != nil {
			return err
		}
		// Sequence numbers never go backwards: a history restored from
		// an older backup restarts its sequence below the latest states.
		if oldMax > histMax {
			if _, err := tx.Exec(ctx, s.q.raiseSeq, oldMax); err != nil {
				return err
			}
		}
		hi2, lo2 := digestHalves(d.Sum)
		_, err = tx.Exec(ctx, s.q.digestSave, s.cfg.lockKey, d.Count, hi2, lo2)
		return err
	})
	if err != nil {
		if errors.Is(err, audit.ErrHistoryMissing) {
			return audit.AppliedDigest{}, fmt.Errorf("postgres audit store: %w", err)
		}
		return audit.AppliedDigest{}, fmt.Errorf("postgres audit store: rebuild %s and %s from %s: %w",
			s.cfg.qualify(s.cfg.latest), s.cfg.qualify(s.cfg.digestTable()), s.cfg.qualify(s.cfg.history), err)
	}
	if changed {
		s.cfg.log().Warn("flamingock audit store: rebuilt the latest states and the applied digest from the history (a table was re-created, the digest was missing, or audit rows were edited by hand)",
			"history", s.cfg.qualify(s.cfg.history), "latest", s.cfg.qualify(s.cfg.latest), "digest", s.cfg.qualify(s.cfg.digestTable()),
			"changes_before", oldRows, "changes_after", newRows, "applied", d.Count)
	}
	return d, nil
}

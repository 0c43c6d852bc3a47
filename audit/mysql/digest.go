package mysql

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"

	"github.com/flamingock/flamingock-go/audit"
)

var _ audit.DigestStore = (*Store)(nil)

// digestHalves splits a change digest into the two unsigned 64-bit values
// the tables keep it in (big-endian), so that SQL's ^ can XOR them.
func digestHalves(d [16]byte) (hi, lo uint64) {
	return binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:])
}

func digestFromHalves(count int64, hi, lo uint64) audit.AppliedDigest {
	d := audit.AppliedDigest{Count: count}
	binary.BigEndian.PutUint64(d.Sum[:8], hi)
	binary.BigEndian.PutUint64(d.Sum[8:], lo)
	return d
}

// AppliedDigest implements [audit.DigestStore]: one SELECT of the store's
// row in the digest table, which every append keeps up to date in its
// transaction, so its cost does not depend on the number of changes.
//
// When the row is missing or unknown (a lock key used for the first time on
// tables that already have entries, a digest table that was recreated, or a
// latest-state table rebuilt from the history), it computes the digest once
// from the latest-state table, holding appends off meanwhile, and stores it.
func (s *Store) AppliedDigest(ctx context.Context) (audit.AppliedDigest, error) {
	if s.closed.Load() {
		return audit.AppliedDigest{}, audit.ErrClosed
	}
	var (
		count  sql.NullInt64
		hi, lo sql.Null[uint64]
	)
	err := s.db.QueryRowContext(ctx, s.q.digest, s.cfg.lockKey).Scan(&count, &hi, &lo)
	if err == nil && count.Valid && hi.Valid && lo.Valid {
		return digestFromHalves(count.Int64, hi.V, lo.V), nil
	}
	if err != nil && err != sql.ErrNoRows {
		return audit.AppliedDigest{}, fmt.Errorf("mysql audit store: read applied digest from %s: %w", quote(s.cfg.digestTable()), err)
	}
	d, err := s.recomputeDigest(ctx)
	if err != nil {
		return audit.AppliedDigest{}, fmt.Errorf("mysql audit store: compute applied digest from %s into %s: %w",
			quote(s.cfg.latest), quote(s.cfg.digestTable()), err)
	}
	return d, nil
}

// recomputeDigest computes the applied digest from the latest states, fills
// in the per-row digests that are missing or wrong, and saves the result.
// It locks the digest row first, as every append does before it touches the
// latest-state table, so appends wait for it (and it for them) in one
// order, and two recomputations queue rather than interleave.
func (s *Store) recomputeDigest(ctx context.Context) (audit.AppliedDigest, error) {
	if _, err := s.db.ExecContext(ctx, s.q.digestEnsure, s.cfg.lockKey); err != nil {
		return audit.AppliedDigest{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return audit.AppliedDigest{}, err
	}
	defer tx.Rollback()
	var (
		count  sql.NullInt64
		hi, lo sql.Null[uint64]
	)
	if err := tx.QueryRowContext(ctx, s.q.digestLock, s.cfg.lockKey).Scan(&count, &hi, &lo); err != nil {
		return audit.AppliedDigest{}, err
	}
	if count.Valid && hi.Valid && lo.Valid {
		// Another instance computed it while this one waited.
		return digestFromHalves(count.Int64, hi.V, lo.V), tx.Commit()
	}
	type fix struct {
		id     string
		hi, lo uint64
	}
	var (
		d     audit.AppliedDigest
		fixes []fix
	)
	rows, err := tx.QueryContext(ctx, s.q.digestInit)
	if err != nil {
		return audit.AppliedDigest{}, err
	}
	for rows.Next() {
		var (
			id, state, check string
			rowHi, rowLo     sql.Null[uint64]
		)
		if err := rows.Scan(&id, &state, &check, &rowHi, &rowLo); err != nil {
			rows.Close()
			return audit.AppliedDigest{}, err
		}
		h := audit.ChangeDigest(id, check)
		wantHi, wantLo := digestHalves(h)
		if !rowHi.Valid || !rowLo.Valid || rowHi.V != wantHi || rowLo.V != wantLo {
			fixes = append(fixes, fix{id, wantHi, wantLo})
		}
		if audit.IsAppliedState(audit.State(state)) {
			d.Add(h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return audit.AppliedDigest{}, err
	}
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, s.q.digestFix, f.hi, f.lo, f.id); err != nil {
			return audit.AppliedDigest{}, err
		}
	}
	sumHi, sumLo := digestHalves(d.Sum)
	if _, err := tx.ExecContext(ctx, s.q.digestSave, d.Count, sumHi, sumLo, s.cfg.lockKey); err != nil {
		return audit.AppliedDigest{}, err
	}
	return d, tx.Commit()
}

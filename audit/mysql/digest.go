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
// tables that already have entries, a table recreated, or a hand edit the
// guard triggers saw), it rebuilds the latest states and the digest from
// the history first.
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
	return s.rebuild(ctx)
}

// rebuildIfStale rebuilds the derived tables when this store's digest row
// is missing or unknown.
func (s *Store) rebuildIfStale(ctx context.Context) error {
	var stale sql.NullBool
	err := s.db.QueryRowContext(ctx, s.q.stale, s.cfg.lockKey).Scan(&stale)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("mysql audit store: read %s: %w", quote(s.cfg.digestTable()), err)
	}
	if err == nil && stale.Valid && !stale.Bool {
		return nil
	}
	_, err = s.rebuild(ctx)
	return err
}

// rebuild recomputes the latest states from the history (the entry with the
// highest seq per change), their per-row digests, and the applied digest,
// which it saves in every lock key's row, all in one transaction. It locks
// the digest rows first, as every append locks its own before it touches
// the latest states, so appends wait for it (and it for them) in one order,
// and two rebuilds queue rather than interleave; the second finds the
// digest known and returns it.
func (s *Store) rebuild(ctx context.Context) (audit.AppliedDigest, error) {
	d, err := s.rebuildTx(ctx)
	if err != nil {
		return audit.AppliedDigest{}, fmt.Errorf("mysql audit store: rebuild %s and %s from %s: %w",
			quote(s.cfg.latest), quote(s.cfg.digestTable()), quote(s.cfg.history), err)
	}
	return d, nil
}

func (s *Store) rebuildTx(ctx context.Context) (audit.AppliedDigest, error) {
	if _, err := s.db.ExecContext(ctx, s.q.digestEnsure, s.cfg.lockKey); err != nil {
		return audit.AppliedDigest{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return audit.AppliedDigest{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q.digestLockAll); err != nil {
		return audit.AppliedDigest{}, err
	}
	var (
		count  sql.NullInt64
		hi, lo sql.Null[uint64]
	)
	if err := tx.QueryRowContext(ctx, s.q.digest, s.cfg.lockKey).Scan(&count, &hi, &lo); err != nil {
		return audit.AppliedDigest{}, err
	}
	if count.Valid && hi.Valid && lo.Valid {
		// Another instance rebuilt while this one waited.
		return digestFromHalves(count.Int64, hi.V, lo.V), tx.Commit()
	}
	// Rebuilding from an empty history would start the trail over: every
	// change would run again.
	var emptied bool
	if err := tx.QueryRowContext(ctx, s.q.historyEmpty).Scan(&emptied); err != nil {
		return audit.AppliedDigest{}, err
	}
	if emptied {
		return audit.AppliedDigest{}, fmt.Errorf("the history is empty while %s holds latest states; restore the history from a backup, or empty %s on purpose to start a new trail: %w",
			quote(s.cfg.latest), quote(s.cfg.latest), audit.ErrHistoryMissing)
	}
	if _, err := tx.ExecContext(ctx, s.q.clearLatest); err != nil {
		return audit.AppliedDigest{}, err
	}
	if _, err := tx.ExecContext(ctx, s.q.rebuild); err != nil {
		return audit.AppliedDigest{}, err
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
		var id, state, check string
		if err := rows.Scan(&id, &state, &check); err != nil {
			rows.Close()
			return audit.AppliedDigest{}, err
		}
		h := audit.ChangeDigest(id, check)
		rowHi, rowLo := digestHalves(h)
		fixes = append(fixes, fix{id, rowHi, rowLo})
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
	// Last: the updates above fired the guard, which marked the digest
	// unknown again.
	sumHi, sumLo := digestHalves(d.Sum)
	if _, err := tx.ExecContext(ctx, s.q.digestSave, d.Count, sumHi, sumLo); err != nil {
		return audit.AppliedDigest{}, err
	}
	return d, tx.Commit()
}

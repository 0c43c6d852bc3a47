package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

// TestDamage runs the suite's damage cases: tables dropped, rows edited and
// garbled by hand with SQL through another connection, as an operator's
// sqlite3 shell would.
func TestDamage(t *testing.T) {
	audittest.RunDamage(t, func(t *testing.T) audittest.DamageBackend {
		path := tempPath(t)
		admin, err := sqlite.OpenDB(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })
		return audittest.DamageBackend{
			Open:   func() (audit.Store, error) { return sqlite.Open(context.Background(), path) },
			Damage: sqlDamager{db: admin},
		}
	})
}

// sqlDamager damages the store's default tables with plain SQL.
type sqlDamager struct{ db *sql.DB }

var damageTables = map[audittest.Part]string{
	audittest.PartHistory: sqlite.DefaultHistoryTable,
	audittest.PartLatest:  sqlite.DefaultLatestTable,
	audittest.PartDigest:  sqlite.DefaultLatestTable + "_digest",
	audittest.PartLock:    sqlite.DefaultLockTable,
}

func (d sqlDamager) Drop(p audittest.Part) error {
	_, err := d.db.Exec("DROP TABLE " + damageTables[p])
	return err
}

func (d sqlDamager) SetRaw(changeID, field, raw string) error {
	for _, p := range []audittest.Part{audittest.PartHistory, audittest.PartLatest} {
		if _, err := d.db.Exec("UPDATE "+damageTables[p]+" SET "+field+" = ? WHERE change_id = ?", raw, changeID); err != nil {
			return err
		}
	}
	return nil
}

func (d sqlDamager) DeleteHistory(changeID string) error {
	_, err := d.db.Exec("DELETE FROM "+damageTables[audittest.PartHistory]+" WHERE change_id = ?", changeID)
	return err
}

func (d sqlDamager) SetLatestState(changeID, state string) error {
	_, err := d.db.Exec("UPDATE "+damageTables[audittest.PartLatest]+" SET state = ? WHERE change_id = ?", state, changeID)
	return err
}

func (d sqlDamager) InsertLatest(changeID, fromChangeID, state string) error {
	latest := damageTables[audittest.PartLatest]
	tx, err := d.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"CREATE TEMP TABLE forged AS SELECT * FROM " + latest + " WHERE change_id = ?", []any{fromChangeID}},
		{"UPDATE forged SET change_id = ?, state = ?", []any{changeID, state}},
		{"INSERT INTO " + latest + " SELECT * FROM forged", nil},
		{"DROP TABLE forged", nil},
	} {
		if _, err := tx.Exec(q.sql, q.args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (d sqlDamager) RaiseLatest(changeID, state string) error {
	_, err := d.db.Exec("UPDATE "+damageTables[audittest.PartLatest]+" SET state = ?, seq = seq + 1000 WHERE change_id = ?", state, changeID)
	return err
}

// TestHistoryRowInsertedByHand: an operator records a resolution with SQL
// instead of `audit fix`. Inserts fire no guard (the store's own appends
// are inserts), but the next open finds the newest seqs of the history and
// the latest states differ and rebuilds.
func TestHistoryRowInsertedByHand(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	s := openStore(t, path)
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, entry("one", audit.Failed, "one1", lease.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO flamingock_audit (run_id, stage, change_id, author, change_order, state, target_id,
		tx_strategy, recovery, checksum, created_at, duration_ns, host, pid, tool_version, actor, reason, error, metadata, token)
		SELECT 'by-hand', stage, change_id, author, change_order, 'MANUAL_MARKED_AS_APPLIED', target_id,
		tx_strategy, recovery, checksum, created_at, 0, host, pid, tool_version, 'dba', 'fixed by hand', '', '', token FROM flamingock_audit`); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path)
	if got := audittest.Latest(t, s, "one"); got.State != audit.ManualMarkedAsApplied || got.RunID != "by-hand" {
		t.Errorf("latest of one after a hand-inserted resolution and a reopen: %s by %s, want MANUAL_MARKED_AS_APPLIED by-hand", got.State, got.RunID)
	}
	wantDigest(t, s, map[string]string{"one": "one1"}, "after the reopen")
}

// TestOwnWritesKeepTheDigest: the guards that notice a latest-state row no
// history entry is behind must not fire for the store's own appends, which
// insert a row for a new change and move an existing one to a larger seq
// right after writing the history entry. Fired, they would send every
// run's up-to-date check through a rebuild.
func TestOwnWritesKeepTheDigest(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, tempPath(t))
	lease, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Entry{
		entry("one", audit.Started, "one1", lease.Token),
		entry("one", audit.Applied, "one1", lease.Token),
		entry("two", audit.Applied, "two1", lease.Token),
	} {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := s.DB().QueryRow("SELECT count(*) FROM flamingock_audit_latest_digest").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 1 {
			t.Fatalf("the append of %s %s removed the digest row: a guard fired for the store's own write", e.ChangeID, e.State)
		}
	}
}

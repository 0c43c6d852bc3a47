package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

// These cases damage the tables from outside the store, as an operator's
// hand-written SQL or a partial restore would. The history is the record;
// the latest states and the digest are derived from it.

// damageTrail opens a store on a fresh database and appends: a STARTED then
// APPLIED, b FAILED, c APPLIED.
func damageTrail(t *testing.T) (*sql.DB, *mysql.Store, audit.Lease, []audit.Entry) {
	t.Helper()
	db, _ := mytest.NewDB(t)
	ctx := context.Background()
	s, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, x := range []struct {
		id string
		st audit.State
	}{{"a", audit.Started}, {"a", audit.Applied}, {"b", audit.Failed}, {"c", audit.Applied}} {
		e := audittest.SampleEntry(x.id, x.st, l.Token)
		e.Checksum = "cs-" + x.id
		got, err := s.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
	}
	return db, s, l, out
}

func exec(t *testing.T, db *sql.DB, stmt string, args ...any) {
	t.Helper()
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// checkStates fails unless the snapshot's states are want and the digest
// counts the applied ones among them.
func checkStates(t *testing.T, s *mysql.Store, want map[string]audit.State, step string) {
	t.Helper()
	ctx := context.Background()
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatalf("%s: Snapshot: %v", step, err)
	}
	var applied audit.AppliedDigest
	for id, st := range want {
		if snap[id].State != st {
			t.Errorf("%s: %s is %q, want %q", step, id, snap[id].State, st)
		}
		if audit.IsAppliedState(st) {
			applied.Add(audit.ChangeDigest(id, snap[id].Checksum))
		}
	}
	if len(snap) != len(want) {
		t.Errorf("%s: snapshot has %d changes, want %d", step, len(snap), len(want))
	}
	if d, err := s.AppliedDigest(ctx); err != nil || d != applied {
		t.Errorf("%s: digest %+v (%v), want %+v", step, d, err, applied)
	}
}

func TestDamageHistoryDroppedRefusesToOpen(t *testing.T) {
	db, _, _, _ := damageTrail(t)
	exec(t, db, "DROP TABLE flamingock_audit")
	for i := range 2 { // the first refusal must not have created anything
		_, err := mysql.New(context.Background(), db)
		if err == nil || !strings.Contains(err.Error(), "history table `flamingock_audit` is missing") {
			t.Fatalf("open %d after the history was dropped: %v", i+1, err)
		}
	}
}

func TestDamageLockDroppedKeepsTokensGrowing(t *testing.T) {
	db, s, l, _ := damageTrail(t)
	ctx := context.Background()
	if err := s.ReleaseLock(ctx, l); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "DROP TABLE flamingock_lock")
	s2, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := s2.AcquireLock(ctx, audittest.Owner("b"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Token <= l.Token {
		t.Errorf("token after the lock table was dropped is %d, not above %d", l2.Token, l.Token)
	}
}

func TestDamageHistoryDeletedByHand(t *testing.T) {
	db, s, l, entries := damageTrail(t)
	ctx := context.Background()
	exec(t, db, "DELETE FROM flamingock_audit WHERE change_id = 'c'")
	// The instance already open sees it: c never happened.
	checkStates(t, s, map[string]audit.State{"a": audit.Applied, "b": audit.Failed}, "after c's history was deleted")
	e, err := s.Append(ctx, audittest.SampleEntry("d", audit.Applied, l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq <= entries[3].Seq {
		t.Errorf("seq %d reuses the deleted entry's %d", e.Seq, entries[3].Seq)
	}
	exec(t, db, "DELETE FROM flamingock_audit WHERE change_id = 'a'")
	checkStates(t, s, map[string]audit.State{"b": audit.Failed, "d": audit.Applied}, "after a's history was deleted")
}

func TestDamageLatestEditedByHand(t *testing.T) {
	db, s, l, _ := damageTrail(t)
	ctx := context.Background()
	want := map[string]audit.State{"a": audit.Applied, "b": audit.Failed, "c": audit.Applied}
	exec(t, db, "UPDATE flamingock_audit_latest SET state = 'FAILED' WHERE change_id = 'a'")
	checkStates(t, s, want, "after a's latest state was edited")
	exec(t, db, "DELETE FROM flamingock_audit_latest WHERE change_id = 'c'")
	s2, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	checkStates(t, s2, want, "after c's latest row was deleted, another instance")
	if _, err := s.Append(ctx, audittest.SampleEntry("c", audit.RolledBack, l.Token)); err != nil {
		t.Fatal(err)
	}
	want["c"] = audit.RolledBack
	checkStates(t, s, want, "after the next append")
}

func TestDamageUnknownStateIsReadAsWritten(t *testing.T) {
	db, s, _, entries := damageTrail(t)
	exec(t, db, "UPDATE flamingock_audit SET state = 'APPLIED_MAYBE' WHERE change_id = 'a'")
	exec(t, db, "UPDATE flamingock_audit_latest SET state = 'APPLIED_MAYBE' WHERE change_id = 'a'")
	checkStates(t, s, map[string]audit.State{"a": "APPLIED_MAYBE", "b": audit.Failed, "c": audit.Applied}, "with a garbled state")
	h, err := s.History(context.Background(), audit.HistoryQuery{})
	if err != nil || len(h) != len(entries) {
		t.Errorf("history with a garbled state: %d entries (%v), want %d", len(h), err, len(entries))
	}
}

// TestDamageHistoryEmptiedBesideLatestStates: DELETE of every row leaves
// nothing to rebuild from, and TRUNCATE fires no trigger (the next open
// notices it); either way, once another instance has opened, every
// instance refuses to read rather than start the trail over.
func TestDamageHistoryEmptiedBesideLatestStates(t *testing.T) {
	for _, how := range []string{"TRUNCATE TABLE flamingock_audit", "DELETE FROM flamingock_audit"} {
		t.Run(strings.Fields(how)[0], func(t *testing.T) {
			db, s, _, _ := damageTrail(t)
			ctx := context.Background()
			exec(t, db, how)
			s2, err := mysql.New(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			for name, st := range map[string]*mysql.Store{"the open store": s, "a store opened after": s2} {
				if _, err := st.Snapshot(ctx); !errors.Is(err, audit.ErrHistoryMissing) {
					t.Errorf("%s: Snapshot: %v, want ErrHistoryMissing", name, err)
				}
				if _, err := st.AppliedDigest(ctx); !errors.Is(err, audit.ErrHistoryMissing) {
					t.Errorf("%s: AppliedDigest: %v, want ErrHistoryMissing", name, err)
				}
			}
			var n int
			if err := db.QueryRow("SELECT count(*) FROM flamingock_audit_latest").Scan(&n); err != nil || n != 3 {
				t.Errorf("latest states after the refusal: %d (%v), want the 3 kept", n, err)
			}
		})
	}
}

// TestDamageHistoryRestoredFromAnOlderBackup: a history put back from a
// backup taken after a's STARTED entry, by renaming tables (no trigger
// fires), is noticed by the next open, because its newest entry is not its
// change's latest state: the latest states follow the restored history and
// the digest agrees. (A backup whose newest entry is still its change's
// latest state is not noticed at open; see docs/reliability.md.)
func TestDamageHistoryRestoredFromAnOlderBackup(t *testing.T) {
	db, _, _, entries := damageTrail(t)
	exec(t, db, "CREATE TABLE backup LIKE flamingock_audit")
	exec(t, db, "INSERT INTO backup SELECT * FROM flamingock_audit WHERE seq <= ?", entries[0].Seq)
	exec(t, db, "RENAME TABLE flamingock_audit TO damaged, backup TO flamingock_audit")
	s, err := mysql.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	checkStates(t, s, map[string]audit.State{"a": audit.Started}, "after the restore")
}

// TestOpenKeepsTheDigestOfAHealthyTrail: the open's check that the history
// leads the latest states does not fire on a trail the store wrote itself,
// which would cost a rebuild on every start.
func TestOpenKeepsTheDigestOfAHealthyTrail(t *testing.T) {
	db, _, _, _ := damageTrail(t)
	if _, err := mysql.New(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	var known bool
	if err := db.QueryRow("SELECT applied_count IS NOT NULL FROM flamingock_audit_digest").Scan(&known); err != nil || !known {
		t.Errorf("digest known after opening a healthy trail: %v (%v), want true", known, err)
	}
}

// TestDamageHistoryRestoredBehindTheLatestStates: a backup whose newest
// entry is still its change's latest state is not noticed at open, and its
// AUTO_INCREMENT hands c's next entry the seq c's latest state already has,
// so the upsert's "newer seq wins" guard keeps the old latest state. The
// latest-state table's update trigger fires for that upsert too, sees the
// seq not move forward, and marks the digest unknown: the next read
// rebuilds from the history and shows the new entry instead of hiding it.
func TestDamageHistoryRestoredBehindTheLatestStates(t *testing.T) {
	db, _, l, entries := damageTrail(t)
	exec(t, db, "CREATE TABLE backup LIKE flamingock_audit")
	exec(t, db, "INSERT INTO backup SELECT * FROM flamingock_audit WHERE seq < ?", entries[3].Seq)
	exec(t, db, "RENAME TABLE flamingock_audit TO damaged, backup TO flamingock_audit")
	ctx := context.Background()
	s, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	e := audittest.SampleEntry("c", audit.RolledBack, l.Token)
	e.Checksum = "cs-c"
	if got, err := s.Append(ctx, e); err != nil || got.Seq != entries[3].Seq {
		t.Fatalf("append over the restored history: seq %d (%v); the case needs it to reuse %d", got.Seq, err, entries[3].Seq)
	}
	checkStates(t, s, map[string]audit.State{"a": audit.Applied, "b": audit.Failed, "c": audit.RolledBack}, "after an append over the restored history")
}

// TestDamageLatestRowInsertedByHand: a latest state that no history entry
// is behind (an operator's INSERT after the history rows were deleted) is
// not a record that the change ran; the store goes back to the history.
func TestDamageLatestRowInsertedByHand(t *testing.T) {
	db, s, l, _ := damageTrail(t)
	ctx := context.Background()
	exec(t, db, "DELETE FROM flamingock_audit WHERE change_id = 'a'")
	want := map[string]audit.State{"b": audit.Failed, "c": audit.Applied}
	checkStates(t, s, want, "after a's history was deleted")
	exec(t, db, "CREATE TEMPORARY TABLE forged AS SELECT * FROM flamingock_audit_latest WHERE change_id = 'c'")
	exec(t, db, "UPDATE forged SET change_id = 'a', state = 'APPLIED'")
	exec(t, db, "INSERT INTO flamingock_audit_latest SELECT * FROM forged")
	checkStates(t, s, want, "after a latest state of a was inserted")
	s2, err := mysql.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	checkStates(t, s2, want, "after a latest state of a was inserted, another instance")
	if _, err := s.Append(ctx, audittest.SampleEntry("a", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	want["a"] = audit.Applied
	checkStates(t, s, want, "after a was appended again")
}

// TestDamageLatestSeqRaisedByHand: moving a row to a larger seq is what
// the store's own upsert does; to a seq no history entry has, it is a hand
// edit all the same.
func TestDamageLatestSeqRaisedByHand(t *testing.T) {
	db, s, _, _ := damageTrail(t)
	exec(t, db, "UPDATE flamingock_audit_latest SET state = 'APPLIED', seq = seq + 1000 WHERE change_id = 'b'")
	checkStates(t, s, map[string]audit.State{"a": audit.Applied, "b": audit.Failed, "c": audit.Applied}, "after b's latest state was raised")
}

// TestOwnWritesKeepTheDigest: the guards must not fire for the store's own
// appends, which insert a latest-state row for a new change and move an
// existing one to a larger seq after writing the history entry. Fired,
// they would send every run's up-to-date check through a rebuild.
func TestOwnWritesKeepTheDigest(t *testing.T) {
	db, _, _, _ := damageTrail(t)
	var unknown int
	if err := db.QueryRow("SELECT count(*) FROM flamingock_audit_digest WHERE applied_count IS NULL").Scan(&unknown); err != nil {
		t.Fatal(err)
	}
	if unknown != 0 {
		t.Errorf("after the store's own appends the digest is unknown: a guard fired for the store's own write")
	}
}

package couchbase_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/internal/cbtest"
)

func newStore(t *testing.T) (*couchbase.Store, *gocb.Cluster) {
	t.Helper()
	c := cbtest.Connect(t)
	s, err := couchbase.New(context.Background(), c, cbtest.Bucket, couchbase.WithKeyPrefix(cbtest.Prefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

var errRollBack = errors.New("roll back on purpose")

// TestAppendTxCommitsWithTheTransaction checks that an entry appended in a
// transaction is invisible until the commit, lands with it, and that the
// history document of the previous tail is written in the same transaction.
func TestAppendTxCommitsWithTheTransaction(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Append(ctx, audittest.SampleEntry("c0", audit.Applied, l.Token))
	if err != nil {
		t.Fatal(err)
	}
	var inTx audit.Entry
	_, err = c.Transactions().Run(func(tx *gocb.TransactionAttemptContext) error {
		var err error
		inTx, err = s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, l.Token))
		if err != nil {
			return err
		}
		// Snapshot would wait for this very transaction to settle; a plain
		// read shows what others see meanwhile.
		res, err := s.Collection().Get(s.StateKey(), nil)
		if err != nil {
			return err
		}
		var doc struct{ Latest map[string]any }
		if err := res.Content(&doc); err != nil {
			return err
		}
		if _, ok := doc.Latest["c1"]; ok {
			t.Errorf("the entry is visible before the transaction commits")
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	if inTx.Seq != first.Seq+1 {
		t.Errorf("seq in the transaction %d, want %d", inTx.Seq, first.Seq+1)
	}
	if got := mustSnapshot(t, s)["c1"]; got.Seq != inTx.Seq || got.State != audit.Applied {
		t.Errorf("snapshot after commit: %+v, want seq %d APPLIED", got, inTx.Seq)
	}
	if _, err := s.Collection().Get(s.EntryKey(first.Seq), nil); err != nil {
		t.Errorf("history document of the previous tail was not written by the transaction: %v", err)
	}
	h, err := s.History(ctx, audit.HistoryQuery{})
	if err != nil || len(h) != 2 || h[1].Seq != inTx.Seq {
		t.Errorf("history after commit: %+v, %v", h, err)
	}
	// A plain append after the transactional one carries on the sequence.
	next, err := s.Append(ctx, audittest.SampleEntry("c2", audit.Applied, l.Token))
	if err != nil || next.Seq != inTx.Seq+1 {
		t.Errorf("append after the transaction: seq %d, %v; want %d", next.Seq, err, inTx.Seq+1)
	}
}

func TestAppendTxRolledBackLeavesNothing(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c0", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Transactions().Run(func(tx *gocb.TransactionAttemptContext) error {
		if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
			return err
		}
		return errRollBack
	}, nil)
	if !errors.Is(err, errRollBack) {
		t.Fatalf("transaction: got %v, want the rollback error", err)
	}
	if snap := mustSnapshot(t, s); len(snap) != 1 {
		t.Errorf("snapshot after rollback has %d changes, want 1: %+v", len(snap), snap)
	}
	if h, err := s.History(ctx, audit.HistoryQuery{}); err != nil || len(h) != 1 {
		t.Errorf("history after rollback: %d entries, %v; want 1", len(h), err)
	}
	if _, err := s.LockInfo(ctx); err != nil {
		t.Errorf("lock after rollback: %v", err)
	}
}

func TestAppendTxIsFenced(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	a, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ForceReleaseLock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err = c.Transactions().Run(func(tx *gocb.TransactionAttemptContext) error {
		_, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, a.Token))
		return err
	}, nil)
	if !errors.Is(err, audit.ErrFenced) {
		t.Errorf("transaction with a superseded token: got %v, want ErrFenced", err)
	}
	if snap := mustSnapshot(t, s); len(snap) != 0 {
		t.Errorf("a fenced transactional append wrote %+v", snap)
	}
}

// TestLockWaitsForStagedTransaction checks that lock writes never overwrite
// a transaction staged on the state document: a takeover attempt is
// refused while it is staged, so the transaction's commit cannot resurrect
// an older lease over a newer one.
func TestLockWaitsForStagedTransaction(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), audittest.ShortTTL)
	if err != nil {
		t.Fatal(err)
	}
	other, err := couchbase.New(ctx, c, cbtest.Bucket, couchbase.WithKeyPrefix(s.StateKey()[:len(s.StateKey())-len("::state")]))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Transactions().Run(func(tx *gocb.TransactionAttemptContext) error {
		if _, err := s.AppendTx(ctx, tx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
			return err
		}
		// Staged now. Wait (on the store's clock) until the lease expired,
		// then try to take over from another instance.
		for deadline := time.Now().Add(time.Minute); ; {
			info, err := other.LockInfo(ctx)
			if err != nil {
				return err
			}
			if !info.Valid() {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the lease is still valid a minute later (expires %s)", info.ExpiresAt)
			}
			time.Sleep(5 * time.Millisecond) // polling the store clock
		}
		if _, err := other.AcquireLock(ctx, audittest.Owner("b"), time.Minute); !errors.Is(err, audit.ErrLockHeld) {
			t.Errorf("AcquireLock while a transaction is staged: got %v, want ErrLockHeld", err)
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	if got := mustSnapshot(t, s)["c1"]; got.State != audit.Applied {
		t.Errorf("the transaction's entry is missing after commit: %+v", got)
	}
	// Once committed, the expired lease can be taken over.
	b, err := other.AcquireLock(ctx, audittest.Owner("b"), time.Minute)
	if err != nil || b.Token <= l.Token {
		t.Errorf("AcquireLock after the commit: %+v, %v", b, err)
	}
}

// TestTailIsReadableBeforeItsDocument checks the history's last entry is
// served from the state document until the next append writes its document.
func TestTailIsReadableBeforeItsDocument(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e1, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Started, l.Token))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Collection().Get(s.EntryKey(e1.Seq), nil); !errors.Is(err, gocb.ErrDocumentNotFound) {
		t.Fatalf("history document of the tail: got %v, want not found yet", err)
	}
	if h, err := s.History(ctx, audit.HistoryQuery{}); err != nil || len(h) != 1 || h[0].Seq != e1.Seq {
		t.Fatalf("history with only a tail: %+v, %v", h, err)
	}
	if _, err := s.Append(ctx, audittest.SampleEntry("c1", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Collection().Get(s.EntryKey(e1.Seq), nil); err != nil {
		t.Errorf("history document of the former tail after the next append: %v", err)
	}
}

func mustSnapshot(t *testing.T, s *couchbase.Store) audit.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return snap
}

package sqltarget_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// appendUnderLock writes entries the way a run holding the lock would.
func appendUnderLock(t *testing.T, e *env, entries ...audit.Entry) int64 {
	t.Helper()
	ctx := context.Background()
	l, err := e.store.AcquireLock(ctx, audit.Owner{Host: "h"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range entries {
		x.Token = l.Token
		if _, err := e.store.Append(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.ReleaseLock(ctx, l); err != nil {
		t.Fatal(err)
	}
	return l.Token
}

// A holder P paused inside its transaction; Q took over, started the change
// and failed; then P resumed and committed, with its marker. The marker is
// older than Q's FAILED entry but newer than the last settled entry (none),
// so it proves the commit: the change must not run again.
func TestLateCommitOfAnOlderAttemptIsRecognised(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	base := audit.Entry{ChangeID: "a", TxStrategy: audit.TxSeparateWithMarker, Recovery: "manual"}
	p := base
	p.RunID, p.State = "P", audit.Started
	pToken := appendUnderLock(t, e, p)
	q1, q2 := base, base
	q1.RunID, q1.State = "Q", audit.Started
	q2.RunID, q2.State, q2.Error = "Q", audit.Failed, "database is locked"
	appendUnderLock(t, e, q1, q2)

	// P's late commit: its change and its marker.
	tx, err := e.target.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := targets.NewDeps(nil)
	tx.Provide(d)
	sqlTx, _ := targets.Resolve[*sql.Tx](d)
	if _, err := sqlTx.Exec(`INSERT INTO effects (change_id) VALUES ('a')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.WriteMarker(ctx, targets.Marker{ChangeID: "a", RunID: "P", Token: pToken}, 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	rep, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Action != flamingock.ActionRecordApplied {
		t.Fatalf("action %s (%s), want record-applied", rep.Changes[0].Action, rep.Changes[0].Reason)
	}
	if n := e.effects(t, "a"); n != 1 {
		t.Fatalf("applied %d times", n)
	}
}

// lostReplyTarget commits for real, then reports the commit as failed, as
// when the database's reply is lost.
// It also marks the connection broken for unreadableStore.
type lostReplyTarget struct {
	*sqltarget.Target
	broken *atomic.Bool
}

func (t lostReplyTarget) Begin(ctx context.Context) (targets.Tx, error) {
	tx, err := t.Target.Begin(ctx)
	return lostReplyTx{tx.(*sqltarget.Tx), t.broken}, err
}

type lostReplyTx struct {
	*sqltarget.Tx
	broken *atomic.Bool
}

func (x lostReplyTx) Commit(ctx context.Context) error {
	if err := x.Tx.Commit(ctx); err != nil {
		return err
	}
	x.broken.Store(true)
	return errors.New("connection reset while reading the commit reply")
}

// unreadableStore passes everything to the real store, but once the
// connection is broken its snapshots fail too.
type unreadableStore struct {
	*sqliteStore
	broken *atomic.Bool
}

func (s unreadableStore) Snapshot(ctx context.Context) (audit.Snapshot, error) {
	if s.broken.Load() {
		return nil, errors.New("connection reset")
	}
	return s.sqliteStore.Snapshot(ctx)
}

// Shared transaction, commit reply lost, and the store cannot be read to
// find out: nothing more may be written. FAILED on top of the committed
// APPLIED would make the next run apply the change a second time.
func TestUnknownSharedCommitOutcomeWritesNothing(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	broken := new(atomic.Bool)
	r, err := flamingock.New(stage(txChange("a", "1", hooks{}, nil)),
		flamingock.WithAuditStore(unreadableStore{e.store, broken}), flamingock.WithTargets(lostReplyTarget{e.target, broken}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "commit outcome unknown") {
		t.Fatalf("got %v", err)
	}
	if got := e.history(t, "a"); got != "APPLIED" {
		t.Fatalf("history %s: only the committed APPLIED may be there", got)
	}
	if _, err := e.runner(t, e.store, stage(txChange("a", "1", hooks{}, nil))).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.effects(t, "a"); n != 1 {
		t.Fatalf("applied %d times", n)
	}
}

package sqltarget_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// slowTxChange is a transactional change whose work takes d: it writes its
// effect, then waits on a timer (the change's own work, not a
// synchronisation) or until it is told to finish.
func slowTxChange(id string, d time.Duration, finish <-chan struct{}) flamingock.Change {
	c := txChange(id, "1", hooks{at: func(step string) {
		if step != "apply-end" {
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-finish:
		}
	}}, nil)
	return c
}

func TestTxBlocksLockTakeoverOnSQLite(t *testing.T) {
	e := newEnv(t, true)
	tx, err := e.target.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	b, ok := tx.(interface{ BlocksLockTakeover() bool })
	if !ok || !b.BlocksLockTakeover() {
		t.Fatalf("a SQLite transaction does not report that it blocks lock takeover (implements: %v)", ok)
	}
}

// TestSharedChangeLongerThanTheLease: a change in a shared transaction
// holds SQLite's only write lock for longer than the run lock's lease, so
// the lease cannot be refreshed meanwhile. Nobody can take the lock over
// either, and the APPLIED append renews the lease inside the transaction:
// the change applies, and the run ends holding a valid lease that it
// releases.
func TestSharedChangeLongerThanTheLease(t *testing.T) {
	const ttl, work = 300 * time.Millisecond, 1200 * time.Millisecond
	e := newEnv(t, true)
	r := e.runner(t, e.store, stage(slowTxChange("slow", work, nil), txChange("after", "2", hooks{}, nil)), flamingock.WithLockTTL(ttl))
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("run with a change four times longer than the lease: %v", err)
	}
	for _, id := range []string{"slow", "after"} {
		if h := e.history(t, id); h != "APPLIED" || e.effects(t, id) != 1 {
			t.Errorf("%s: history %q, effects %d; want APPLIED once", id, h, e.effects(t, id))
		}
	}
	if rep.Changes[0].Protocol != audit.TxShared || rep.Changes[0].Duration < work {
		t.Errorf("slow change ran under %s for %v; want %s for at least %v", rep.Changes[0].Protocol, rep.Changes[0].Duration, audit.TxShared, work)
	}
	// The run released the lease it still held.
	if info, err := e.store.LockInfo(context.Background()); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("lock after the run: %+v, %v; want it released", info, err)
	}
}

// observedStore reports the first AcquireLock that found the lock held, so
// the test can let the first instance go on only once the second has
// waited for it.
type observedStore struct {
	*sqlite.Store
	once   sync.Once
	waited chan struct{}
	err    error
}

func (o *observedStore) AcquireLock(ctx context.Context, owner audit.Owner, ttl time.Duration) (audit.Lease, error) {
	l, err := o.Store.AcquireLock(ctx, owner, ttl)
	if errors.Is(err, audit.ErrLockHeld) {
		o.once.Do(func() { o.err = err; close(o.waited) })
	}
	return l, err
}

// openShortBusy opens path like sqlite.OpenDB but with a 100 ms busy
// timeout, so that a writer blocked by a long transaction gives up (with
// SQLITE_BUSY) quickly instead of after the default 10 s.
func openShortBusy(t *testing.T, path string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "busy_timeout(100)")
	q.Add("_pragma", "journal_mode(WAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSecondInstanceWaitsForALongSharedChange: while the first instance's
// shared transaction holds the write lock past the second instance's busy
// timeout, the second instance can still open its store (the schema check
// only reads), and its AcquireLock reports a held lock (SQLITE_BUSY mapped
// to audit.ErrLockHeld), so its Run waits for the lock instead of failing.
// Once the first instance commits, the second finds everything applied.
func TestSecondInstanceWaitsForALongSharedChange(t *testing.T) {
	ctx := context.Background()
	first := newEnv(t, true)
	finish := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	change := slowTxChange("long", time.Minute, finish)
	apply := change.Apply
	change.Apply = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
		once.Do(func() { close(started) })
		return apply.Call(ctx, d)
	})
	type result struct {
		rep *flamingock.Report
		err error
	}
	firstDone := make(chan result, 1)
	go func() {
		rep, err := first.runner(t, first.store, stage(change)).Run(ctx)
		firstDone <- result{rep, err}
	}()
	<-started

	db := openShortBusy(t, first.auditPath)
	store, err := sqlite.New(ctx, db)
	if err != nil {
		t.Fatalf("opening a second store while the first instance's change holds the write lock: %v", err)
	}
	defer store.Close()
	observed := &observedStore{Store: store, waited: make(chan struct{})}
	target, err := sqltarget.New("db", db)
	if err != nil {
		t.Fatal(err)
	}
	r, err := flamingock.New(stage(slowTxChange("long", 0, nil)), flamingock.WithAuditStore(observed),
		flamingock.WithTargets(target), flamingock.WithLockWait(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	secondDone := make(chan result, 1)
	go func() {
		rep, err := r.Run(ctx)
		secondDone <- result{rep, err}
	}()
	select {
	case <-observed.waited:
	case res := <-secondDone:
		t.Fatalf("the second instance finished before the first committed: %+v, %v", res.rep, res.err)
	}
	t.Logf("second instance told: %v", observed.err)
	close(finish)
	if res := <-firstDone; res.err != nil {
		t.Fatalf("first instance: %v", res.err)
	}
	res := <-secondDone
	if res.err != nil {
		t.Fatalf("second instance: %v", res.err)
	}
	if first.history(t, "long") != "APPLIED" || first.effects(t, "long") != 1 {
		t.Errorf("history %q, effects %d; want the change applied once", first.history(t, "long"), first.effects(t, "long"))
	}
}

package cbtarget_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"
	"github.com/couchbase/gocbcore/v10"

	"github.com/flamingock/flamingock-go/internal/cbtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// ambiguousHooks makes the first armed commit ambiguous after the
// transaction's record was really set to COMMITTED: the lost-reply case.
type ambiguousHooks struct {
	noHooks
	armed atomic.Bool
}

func (h *ambiguousHooks) AfterATRCommit(gocb.TransactionAttemptContext) error {
	if h.armed.Load() {
		return gocbcore.ErrAmbiguous
	}
	return nil
}

func (h *ambiguousHooks) BeforeATRCommitAmbiguityResolution(gocb.TransactionAttemptContext) error {
	if h.armed.CompareAndSwap(true, false) {
		return gocbcore.ErrHard
	}
	return nil
}

// A shared transaction whose commit is reported ambiguous although it
// committed: the runner must not append FAILED over the APPLIED entry that
// gocb's cleanup then applies, or the next run applies the change again.
func TestAmbiguousSharedCommitIsNotAppliedTwice(t *testing.T) {
	h := &ambiguousHooks{}
	cluster := cbtest.Connect(t, func(o *gocb.ClusterOptions) {
		o.TransactionsConfig.Internal.Hooks = h
		o.TransactionsConfig.CleanupConfig.CleanupWindow = time.Second
	})
	ctx := context.Background()
	e, err := openEnv(ctx, cluster, cbtest.Prefix(t), "")
	if err != nil {
		t.Fatal(err)
	}
	// The change replaces an existing document: gocaves' cleanup completes
	// staged replaces (not staged inserts, which a real server completes).
	if _, err := e.coll.Insert(e.effectKey("c1"), map[string]int{"n": 0}, nil); err != nil {
		t.Fatal(err)
	}
	h.armed.Store(true)
	p := stage(e.txChange("c1", "001", hooks{}, nil))
	_, _ = e.runner(t, p).Run(ctx) // ambiguous: the outcome is settled by the store's wait
	if _, err := e.runner(t, p).Run(ctx); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if n := e.effects(t, "c1"); n != 1 {
		t.Fatalf("the change took effect %d times (history %s), want 1", n, e.history(t, "c1"))
	}
	if got := e.history(t, "c1"); strings.Contains(got, "FAILED") {
		t.Fatalf("history %s: FAILED was written over a committed change", got)
	}
}

func bridgeGoroutines() int {
	buf := make([]byte, 1<<22)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "targets/cbtarget.(*Target).Begin.func1()")
}

// A transactional change that panics, in an application that recovers
// panics, must not leave the transaction's goroutine blocked (with its
// writes staged and Cluster.Close hanging).
func TestPanicInAChangeEndsItsTransaction(t *testing.T) {
	for _, shared := range []bool{true, false} {
		cluster, err := cbtest.Shared(t).Open()
		if err != nil {
			t.Fatal(err)
		}
		path := ""
		if !shared {
			path = filepath.Join(t.TempDir(), "a.db")
		}
		ctx := context.Background()
		e, err := openEnv(ctx, cluster, cbtest.Prefix(t), path)
		if err != nil {
			t.Fatal(err)
		}
		before := bridgeGoroutines()
		key := e.effectKey("p1")
		c := flamingock.Change{
			ID: "p1", Order: "001", Target: "cb", Transactional: true, Recovery: flamingock.RecoveryManual,
			Checksum: "sha256:p1", Source: flamingock.Position{File: "p1.go", Line: 1},
			Needs: []reflect.Type{flamingock.TypeOf[*gocb.TransactionAttemptContext]()},
			Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
				tx, _ := targets.Resolve[*gocb.TransactionAttemptContext](d)
				if _, err := tx.Insert(e.coll, key, map[string]int{"n": 1}); err != nil {
					return err
				}
				panic("bug in the change")
			}),
		}
		func() {
			defer func() { _ = recover() }()
			_, _ = e.runner(t, stage(c)).Run(ctx)
		}()
		// The rollback ends the transaction's goroutine; poll until it has.
		deadline := time.Now().Add(20 * time.Second)
		for bridgeGoroutines() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := bridgeGoroutines() - before; n > 0 {
			t.Errorf("shared=%v: %d transaction goroutine(s) still blocked", shared, n)
		}
		if _, err := e.coll.Get(key, nil); !errors.Is(err, gocb.ErrDocumentNotFound) {
			t.Errorf("shared=%v: the panicking change's document: %v, want not found", shared, err)
		}
		closed := make(chan struct{})
		go func() { _ = cluster.Close(nil); close(closed) }()
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Errorf("shared=%v: Cluster.Close still blocked after 20s", shared)
		}
	}
}

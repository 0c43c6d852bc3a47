package kafkatarget_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// A commit the broker answers with an unconfirmed outcome leaves kgo "in a
// transaction" until it is aborted; the target aborts, so the next run can
// begin again, and the change takes effect once.
func TestFailedCommitDoesNotWedgeTheClient(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	e, err := openEnv(ctx, c.ListenAddrs(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	// Fail the first commit only (ControlKey handles one request unless
	// KeepControl is called; aborts pass through).
	c.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.EndTxnRequest)
		if !r.Commit {
			c.KeepControl()
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.UnknownServerError.Code
		return resp, nil, true
	})
	p := stage(produceChange("a", "1", true, flamingock.RecoveryManual, hooks{}, nil))
	if _, err := e.runner(t, p).Run(ctx); err == nil {
		t.Fatal("the first run should fail on its commit")
	}
	if _, err := e.runner(t, p).Run(ctx); err != nil {
		t.Fatalf("the run after a failed commit: %v", err)
	}
	if n := e.effects(t, "a"); n != 1 {
		t.Fatalf("effects %d, want 1", n)
	}
}

// A transactional change that panics, in an application that recovers
// panics, must not leave the Kafka transaction open.
func TestPanicInAChangeAbortsItsTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boom := produceChange("a", "1", true, flamingock.RecoveryManual, hooks{at: func(step string) {
		if step == "apply-end" {
			panic("bug in the change")
		}
	}}, nil)
	func() {
		defer func() { _ = recover() }()
		_, _ = e.runner(t, stage(boom)).Run(ctx)
	}()
	if _, err := e.runner(t, stage(produceChange("a", "1", true, flamingock.RecoveryManual, hooks{}, nil))).Run(ctx); err != nil {
		t.Fatalf("run after the recovered panic: %v", err)
	}
	if n := e.effects(t, "a"); n != 1 {
		t.Fatalf("effects %d, want 1 (the panicking attempt must not commit)", n)
	}
}

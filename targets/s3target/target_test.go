package s3target_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/s3target"
)

func TestNewValidatesItsArguments(t *testing.T) {
	client := newClient("http://127.0.0.1:1")
	if _, err := s3target.New("", client); err == nil {
		t.Error("empty id accepted")
	}
	if _, err := s3target.New("s3", nil); err == nil {
		t.Error("nil client accepted")
	}
	for _, bad := range []string{"", "ab", "Upper", "-start", "end-", "under_score", strings.Repeat("a", 64)} {
		if _, err := s3target.New("s3", client, s3target.WithBucket(bad)); err == nil {
			t.Errorf("bucket %q accepted", bad)
		}
	}
	target, err := s3target.New("s3", client, s3target.WithBucket("my.bucket-1"))
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := target.Bucket(); !ok || b.Name != "my.bucket-1" {
		t.Fatalf("bucket %+v %v", b, ok)
	}
}

func TestProvideGivesClientAndBucket(t *testing.T) {
	client := newClient("http://127.0.0.1:1")
	withBucket, _ := s3target.New("s3", client, s3target.WithBucket("data"))
	d := targets.NewDeps(nil)
	withBucket.Provide(d)
	c, err1 := targets.Resolve[*s3.Client](d)
	b, err2 := targets.Resolve[s3target.Bucket](d)
	if err1 != nil || err2 != nil || c != client || b.Name != "data" {
		t.Fatalf("client %p (%v) bucket %+v (%v)", c, err1, b, err2)
	}
	without, _ := s3target.New("s3", client)
	d = targets.NewDeps(nil)
	without.Provide(d)
	if _, err := targets.Resolve[s3target.Bucket](d); err == nil {
		t.Fatal("a target without a default bucket provided one")
	}
}

// A change that asks for a Bucket on a target that has none is rejected
// before anything runs.
func TestChangeNeedingABucketIsRejectedWithoutOne(t *testing.T) {
	e := newEnv(t)
	bare, err := s3target.New("s3", e.client)
	if err != nil {
		t.Fatal(err)
	}
	r, err := flamingock.New(stage(putChange("a", "1", flamingock.RecoveryManual, hooks{}, nil)),
		flamingock.WithAuditStore(e.store), flamingock.WithTargets(bare))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background())
	if de, ok := errors.AsType[*flamingock.DependencyError](err); !ok || !strings.Contains(de.Error(), "s3target.Bucket") {
		t.Fatalf("want a dependency error naming the Bucket, got %v", err)
	}
	if e.effects(t, "a") != 0 {
		t.Fatal("the change ran")
	}
}

func TestChangeApplies(t *testing.T) {
	e := newEnv(t)
	// transactional is the default in a directive; S3 has no transactions,
	// so the change still runs non-transactionally.
	c := putChange("a", "1", flamingock.RecoveryManual, hooks{}, nil)
	c.Transactional = true
	rep, err := e.runner(t, stage(c)).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.NonTx || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
	rep, err = e.runner(t, stage(c)).Run(context.Background())
	if err != nil || !rep.UpToDate || e.effects(t, "a") != 1 {
		t.Fatalf("second run: up to date %v, effects %d, %v", rep.UpToDate, e.effects(t, "a"), err)
	}
}

func TestFailedChangeIsRolledBackByItsRollback(t *testing.T) {
	e := newEnv(t)
	_, err := e.runner(t, stage(documentChange("a", errBoom, nil))).Run(context.Background())
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || !errors.Is(re.Apply, errBoom) || re.Rollback != nil || re.State != audit.RolledBack {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "a") != "STARTED,ROLLED_BACK" || e.latest(t, "a").Error != "boom" {
		t.Fatalf("history %s error %q", e.history(t, "a"), e.latest(t, "a").Error)
	}
	if e.exists(t, "documents/a.json") {
		t.Fatal("the rollback did not delete the object")
	}
	if _, err := e.runner(t, stage(documentChange("a", nil, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "STARTED,ROLLED_BACK,STARTED,APPLIED" || !e.exists(t, "documents/a.json") {
		t.Fatalf("history %s", e.history(t, "a"))
	}
}

func TestFailingRollbackKeepsBothErrors(t *testing.T) {
	e := newEnv(t)
	_, err := e.runner(t, stage(documentChange("a", errBoom, errRollback))).Run(context.Background())
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || !errors.Is(re.Apply, errBoom) || !errors.Is(re.Rollback, errRollback) || re.State != audit.RollbackFailed {
		t.Fatalf("got %v", err)
	}
	if !errors.Is(err, errBoom) || !errors.Is(err, errRollback) {
		t.Fatalf("the run error does not wrap both errors: %v", err)
	}
	entry := e.latest(t, "a")
	if entry.State != audit.RollbackFailed || entry.Error != "apply: boom; rollback: rollback boom" {
		t.Fatalf("entry %s error %q", entry.State, entry.Error)
	}
	if !e.exists(t, "documents/a.json") {
		t.Fatal("the object is gone although the rollback failed")
	}
	_, err = e.runner(t, stage(documentChange("a", nil, nil))).Run(context.Background())
	if !errors.Is(err, flamingock.ErrIssues) {
		t.Fatalf("want an issue, got %v", err)
	}
}

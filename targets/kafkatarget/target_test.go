package kafkatarget_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/kafkatarget"
)

func TestNewValidatesItsArguments(t *testing.T) {
	seeds := newCluster(t)
	plain, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := kafkatarget.New("", plain); err == nil {
		t.Error("empty id accepted")
	}
	if _, err := kafkatarget.New("k", nil); err == nil {
		t.Error("nil client accepted")
	}
	_, err = kafkatarget.NewTransactional("k", plain, plain)
	if err == nil || !strings.Contains(err.Error(), "kgo.TransactionalID") {
		t.Errorf("a client without a transactional id was accepted as the transactional client: %v", err)
	}
	tx, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for _, bad := range []string{"", "a b", "a/b", "..", strings.Repeat("x", 250)} {
		if _, err := kafkatarget.NewTransactional("k", plain, tx, kafkatarget.WithMarkerTopic(bad)); err == nil {
			t.Errorf("marker topic %q accepted", bad)
		}
	}
	if _, err := kafkatarget.NewTransactional("k", plain, tx, kafkatarget.WithMarkerWait(0)); err == nil {
		t.Error("zero marker wait accepted")
	}
	target, err := kafkatarget.NewTransactional("k", plain, tx, kafkatarget.WithMarkerTopic("my.markers"))
	if err != nil || target.MarkerTopic() != "my.markers" {
		t.Fatalf("%v %v", target, err)
	}
}

func TestProvideGivesClientAndAdmin(t *testing.T) {
	e := newEnv(t)
	plain, err := kafkatarget.New("k", e.client)
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]targets.Target{"plain": plain, "transactional": e.target} {
		d := targets.NewDeps(nil)
		target.Provide(d)
		cl, err1 := targets.Resolve[*kgo.Client](d)
		adm, err2 := targets.Resolve[*kadm.Client](d)
		if err1 != nil || err2 != nil || cl != e.client || adm == nil {
			t.Errorf("%s: client %p (%v), admin %v (%v)", name, cl, err1, adm, err2)
		}
	}
	if _, ok := targets.Target(plain).(targets.Transactional); ok {
		t.Error("the plain target claims transactions")
	}
}

func TestNonTransactionalChangeApplies(t *testing.T) {
	e := newEnv(t)
	rep, err := e.runner(t, stage(produceChange("a", "1", false, flamingock.RecoveryManual, hooks{}, nil))).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.NonTx || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
}

func TestFailedChangeIsRolledBackByItsRollback(t *testing.T) {
	e := newEnv(t)
	_, err := e.runner(t, stage(topicChange("a", errBoom, nil))).Run(context.Background())
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || !errors.Is(re.Apply, errBoom) || re.Rollback != nil || re.State != audit.RolledBack {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "a") != "STARTED,ROLLED_BACK" || !strings.Contains(e.latest(t, "a").Error, "boom") {
		t.Fatalf("history %s, error %q", e.history(t, "a"), e.latest(t, "a").Error)
	}
	if topicExists(t, e.seeds, "topic-a") {
		t.Fatal("the rollback did not delete the topic the change created")
	}
	// A rolled-back change is applied again by the next run.
	if _, err := e.runner(t, stage(topicChange("a", nil, nil))).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "STARTED,ROLLED_BACK,STARTED,APPLIED" || !topicExists(t, e.seeds, "topic-a") {
		t.Fatalf("history %s", e.history(t, "a"))
	}
}

func TestFailingRollbackKeepsBothErrors(t *testing.T) {
	e := newEnv(t)
	_, err := e.runner(t, stage(topicChange("a", errBoom, errRollback))).Run(context.Background())
	re, ok := errors.AsType[*flamingock.RunError](err)
	if !ok || !errors.Is(re.Apply, errBoom) || !errors.Is(re.Rollback, errRollback) || re.State != audit.RollbackFailed {
		t.Fatalf("got %v", err)
	}
	if !errors.Is(err, errBoom) || !errors.Is(err, errRollback) {
		t.Fatalf("the run error does not wrap both errors: %v", err)
	}
	entry := e.latest(t, "a")
	if entry.State != audit.RollbackFailed || !strings.Contains(entry.Error, "apply: boom") || !strings.Contains(entry.Error, "rollback: rollback boom") {
		t.Fatalf("entry %s error %q", entry.State, entry.Error)
	}
	// Nothing can tell what is left: the next run reports an issue.
	_, err = e.runner(t, stage(topicChange("a", nil, nil))).Run(context.Background())
	if !errors.Is(err, flamingock.ErrIssues) {
		t.Fatalf("want an issue, got %v", err)
	}
}

func TestTransactionalChangeCommitsWithItsMarker(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rep, err := e.runner(t, stage(produceChange("a", "1", true, flamingock.RecoveryManual, hooks{}, nil))).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Protocol != audit.TxSeparateWithMarker || e.history(t, "a") != "STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("protocol %s history %s effects %d", rep.Changes[0].Protocol, e.history(t, "a"), e.effects(t, "a"))
	}
	m, found, err := e.target.ReadMarker(ctx, "a")
	if err != nil || !found || m.RunID != rep.RunID || m.Token != e.latest(t, "a").Token {
		t.Fatalf("marker %+v found=%v err=%v", m, found, err)
	}
	if _, found, err := e.target.ReadMarker(ctx, "other"); err != nil || found {
		t.Fatalf("marker of a change that never ran: found=%v err=%v", found, err)
	}
}

// The records of a failed transactional change are aborted: a
// read-committed consumer reading past them never sees them, while a
// read-uncommitted one does (so they did reach the log).
func TestReadCommittedConsumersNeverSeeAFailedChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.runner(t, stage(produceChange("bad", "1", true, flamingock.RecoveryManual, hooks{}, errBoom))).Run(ctx)
	if re, ok := errors.AsType[*flamingock.RunError](err); !ok || re.State != audit.Failed {
		t.Fatalf("got %v", err)
	}
	if e.history(t, "bad") != "STARTED,FAILED" {
		t.Fatalf("history %s", e.history(t, "bad"))
	}
	if _, found, err := e.target.ReadMarker(ctx, "bad"); err != nil || found {
		t.Fatalf("an aborted transaction left a marker: found=%v err=%v", found, err)
	}
	if _, err := e.runner(t, stage(produceChange("good", "1", true, flamingock.RecoveryManual, hooks{}, nil))).Run(ctx); err != nil {
		t.Fatal(err)
	}
	seen := func(level kgo.IsolationLevel) []string {
		cl, err := kgo.NewClient(kgo.SeedBrokers(e.seeds...), kgo.ConsumeTopics(effectsTopic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(level))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		var keys []string
		// One partition: records arrive in offset order, so once "good"
		// (produced after "bad") arrives, everything before it was read.
		for !containsKey(keys, "good") {
			fs := cl.PollFetches(pctx)
			if err := pctx.Err(); err != nil {
				t.Fatalf("consumer saw %v before giving up", keys)
			}
			fs.EachRecord(func(r *kgo.Record) { keys = append(keys, string(r.Key)) })
		}
		return keys
	}
	if keys := seen(kgo.ReadCommitted()); containsKey(keys, "bad") {
		t.Fatalf("read-committed consumer saw the failed change's records: %v", keys)
	}
	if keys := seen(kgo.ReadUncommitted()); !containsKey(keys, "bad") {
		t.Fatalf("read-uncommitted consumer did not see the aborted records, so the test proves nothing: %v", keys)
	}
	if e.effects(t, "bad") != 0 || e.effects(t, "good") != 1 {
		t.Fatalf("effects bad %d good %d", e.effects(t, "bad"), e.effects(t, "good"))
	}
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

func TestFailedTransactionIsAppliedAgainByTheNextRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.runner(t, stage(produceChange("a", "1", true, flamingock.RecoveryManual, hooks{}, errBoom))).Run(ctx); err == nil {
		t.Fatal("want failure")
	}
	if _, err := e.runner(t, stage(produceChange("a", "1", true, flamingock.RecoveryManual, hooks{}, nil))).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "STARTED,FAILED,STARTED,APPLIED" || e.effects(t, "a") != 1 {
		t.Fatalf("history %s effects %d", e.history(t, "a"), e.effects(t, "a"))
	}
}

func TestWriteMarkerDetectsACommitNewerThanThePlan(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	write := func(m targets.Marker, since int64) error {
		tx, err := e.target.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.WriteMarker(ctx, m, since); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}
	if err := write(targets.Marker{ChangeID: "a", RunID: "r1", Token: 5}, 0); err != nil {
		t.Fatal(err)
	}
	// Planned from an entry with token 5: the marker at 5 is that attempt's
	// or a later one's commit.
	err := write(targets.Marker{ChangeID: "a", RunID: "r2", Token: 7}, 5)
	conflict, ok := errors.AsType[*targets.MarkerConflictError](err)
	if !ok || conflict.Existing.RunID != "r1" || conflict.Existing.Token != 5 {
		t.Fatalf("want a conflict with r1's marker, got %v", err)
	}
	// Planned from a newer entry: the old marker is replaced.
	if err := write(targets.Marker{ChangeID: "a", RunID: "r3", Token: 9}, 6); err != nil {
		t.Fatal(err)
	}
	m, found, err := e.target.ReadMarker(ctx, "a")
	if err != nil || !found || m.RunID != "r3" || m.Token != 9 {
		t.Fatalf("marker %+v found=%v err=%v", m, found, err)
	}
}

// A marker record that is not one is reported with where it is, not
// skipped: a silent skip could re-apply a committed change.
func TestCorruptMarkerIsReported(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, _, err := e.target.ReadMarker(ctx, "a"); err != nil { // creates the topic
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: kafkatarget.DefaultMarkerTopic, Key: []byte("a"), Value: []byte("not json")}
	if err := e.client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.target.ReadMarker(ctx, "a")
	if err == nil || !strings.Contains(err.Error(), "flamingock_marker/0 offset 0") {
		t.Fatalf("got %v", err)
	}
}

package kafkatarget_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/kafkatarget"
)

// Every test runs against kfake, an in-process Kafka cluster speaking the
// real protocol, and keeps its audit trail in a SQLite file.

const (
	effectsTopic    = "effects"
	transactionalID = "flamingock-test"
)

func newCluster(t testing.TB) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// env is one pipeline's world: the cluster's clients, the transactional
// target over them, and the audit store.
type env struct {
	seeds            []string
	client, txClient *kgo.Client
	target           *kafkatarget.TxTarget
	store            *sqlite.Store
}

func openEnv(ctx context.Context, seeds []string, auditPath string) (*env, error) {
	e := &env{seeds: seeds}
	var err error
	if e.client, err = kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(10*time.Millisecond)); err != nil {
		return nil, err
	}
	if e.txClient, err = kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID(transactionalID)); err != nil {
		return nil, err
	}
	if e.target, err = kafkatarget.NewTransactional("kafka", e.client, e.txClient, kafkatarget.WithMarkerWait(20*time.Second)); err != nil {
		return nil, err
	}
	_, err = e.target.Admin().CreateTopic(ctx, 1, -1, nil, effectsTopic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, err
	}
	if e.store, err = sqlite.Open(ctx, auditPath); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	e.store.Close()
	e.txClient.Close()
	e.client.Close()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e, err := openEnv(context.Background(), newCluster(t), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

// hooks let a test interrupt a change at a named step.
type hooks struct{ at func(step string) }

func (h hooks) hit(step string) {
	if h.at != nil {
		h.at(step)
	}
}

// produceChange produces one record keyed by its id to the effects topic,
// with the transactional client when transactional (the target hands it
// over inside the transaction) and the plain client otherwise. Built the way
// generated code is: an adapter resolves the typed parameter.
func produceChange(id, order string, transactional bool, recovery flamingock.Recovery, h hooks, fail error) flamingock.Change {
	fn := func(ctx context.Context, cl *kgo.Client) error {
		h.hit("apply-begin")
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: effectsTopic, Key: []byte(id), Value: []byte("effect of " + id)}).FirstErr(); err != nil {
			return err
		}
		h.hit("apply-end")
		return fail
	}
	return flamingock.Change{
		ID: id, Order: order, Target: "kafka", Transactional: transactional, Recovery: recovery,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflect.Type{flamingock.TypeOf[*kgo.Client]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			cl, err := targets.Resolve[*kgo.Client](d)
			if err != nil {
				return err
			}
			return fn(ctx, cl)
		}),
	}
}

// topicChange creates the topic "topic-<id>" with the admin client and then
// returns fail; its rollback deletes the topic, or returns rollbackFail.
func topicChange(id string, fail, rollbackFail error) flamingock.Change {
	topic := "topic-" + id
	resolve := func(d *targets.Deps) (*kadm.Client, error) { return targets.Resolve[*kadm.Client](d) }
	return flamingock.Change{
		ID: id, Order: "1", Target: "kafka", Transactional: false, Recovery: flamingock.RecoveryManual,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflect.Type{flamingock.TypeOf[*kadm.Client]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			adm, err := resolve(d)
			if err != nil {
				return err
			}
			if _, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, topic); err != nil {
				return err
			}
			return fail
		}),
		Rollback: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			adm, err := resolve(d)
			if err != nil {
				return err
			}
			if rollbackFail != nil {
				return rollbackFail
			}
			_, err = adm.DeleteTopic(ctx, topic)
			return err
		}),
	}
}

func stage(changes ...flamingock.Change) flamingock.Pipeline {
	return flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes})
}

func (e *env) runner(t testing.TB, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	opts = append([]flamingock.Option{flamingock.WithAuditStore(e.store), flamingock.WithTargets(e.target), flamingock.WithLockWait(20 * time.Second)}, opts...)
	r, err := flamingock.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// effects counts the committed records the change with this id produced.
func (e *env) effects(t *testing.T, id string) int {
	t.Helper()
	n := 0
	err := kafkatarget.ReadCommitted(context.Background(), e.client, effectsTopic, 10*time.Second, func(r *kgo.Record) error {
		if string(r.Key) == id {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) history(t *testing.T, id string) string {
	t.Helper()
	return audittest.States(t, e.store, id)
}

func (e *env) latest(t *testing.T, id string) audit.Entry {
	t.Helper()
	return audittest.Latest(t, e.store, id)
}

// topicExists asks the cluster with a fresh client, so no metadata cache
// answers for it.
func topicExists(t *testing.T, seeds []string, topic string) bool {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return topics.Has(topic)
}

var (
	errBoom     = fmt.Errorf("boom")
	errRollback = fmt.Errorf("rollback boom")
)

package cbtarget_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/internal/cbtest"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/cbtarget"
)

// env is one pipeline's world: a cluster connection, a target on it, and
// an audit store that is either the Couchbase store on the same connection
// (shared transactions) or a SQLite file (commit markers).
type env struct {
	cluster *gocb.Cluster
	coll    *gocb.Collection
	prefix  string // keys of this test's documents start with it
	store   audit.Store
	target  *cbtarget.Target
}

// openEnv wires an env. sqlitePath "" means the Couchbase audit store.
func openEnv(ctx context.Context, cluster *gocb.Cluster, prefix, sqlitePath string, opts ...cbtarget.Option) (*env, error) {
	e := &env{cluster: cluster, coll: cluster.Bucket(cbtest.Bucket).DefaultCollection(), prefix: prefix}
	var err error
	if sqlitePath == "" {
		e.store, err = couchbase.New(ctx, cluster, cbtest.Bucket, couchbase.WithKeyPrefix(prefix))
	} else {
		e.store, err = sqlite.Open(ctx, sqlitePath)
	}
	if err != nil {
		return nil, err
	}
	e.target, err = cbtarget.New("cb", cluster, cbtest.Bucket, append([]cbtarget.Option{cbtarget.WithMarkerPrefix(prefix + "-marker")}, opts...)...)
	return e, err
}

func newEnv(t *testing.T, shared bool) *env {
	t.Helper()
	path := ""
	if !shared {
		path = filepath.Join(t.TempDir(), "audit.db")
	}
	e, err := openEnv(context.Background(), cbtest.Connect(t), cbtest.Prefix(t), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	return e
}

// hooks let a test interrupt a change at a named step.
type hooks struct{ at func(step string) }

func (h hooks) hit(step string) {
	if h.at != nil {
		h.at(step)
	}
}

func (e *env) effectKey(id string) string  { return e.prefix + "::effect::" + id }
func (e *env) counterKey(id string) string { return e.prefix + "::counter::" + id }

// txChange counts its applications in a JSON document, inside the
// change's transaction.
func (e *env) txChange(id, order string, h hooks, fail error) flamingock.Change {
	coll, key := e.coll, e.effectKey(id)
	fn := func(tx *gocb.TransactionAttemptContext) error {
		h.hit(crashtest.ApplyBegin)
		doc, err := tx.Get(coll, key)
		switch {
		case errors.Is(err, gocb.ErrDocumentNotFound):
			_, err = tx.Insert(coll, key, map[string]int{"n": 1})
		case err == nil:
			var v map[string]int
			if err := doc.Content(&v); err != nil {
				return err
			}
			_, err = tx.Replace(doc, map[string]int{"n": v["n"] + 1})
		}
		if err != nil {
			return err
		}
		h.hit(crashtest.ApplyEnd)
		return fail
	}
	return flamingock.Change{
		ID: id, Order: order, Target: "cb", Transactional: true, Recovery: flamingock.RecoveryManual,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflect.Type{flamingock.TypeOf[*gocb.TransactionAttemptContext]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			tx, err := targets.Resolve[*gocb.TransactionAttemptContext](d)
			if err != nil {
				return err
			}
			return fn(tx)
		}),
	}
}

// kvChange counts its applications in a binary counter, outside any
// transaction; its rollback (when rollback is true) takes one off.
func (e *env) kvChange(id, order string, recovery flamingock.Recovery, h hooks, fail error, rollback bool) flamingock.Change {
	key := e.counterKey(id)
	c := flamingock.Change{
		ID: id, Order: order, Target: "cb", Transactional: false, Recovery: recovery,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflect.Type{flamingock.TypeOf[*gocb.Collection]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			coll, err := targets.Resolve[*gocb.Collection](d)
			if err != nil {
				return err
			}
			h.hit(crashtest.ApplyBegin)
			if _, err := coll.Binary().Increment(key, &gocb.IncrementOptions{Initial: 1, Delta: 1, Context: ctx}); err != nil {
				return err
			}
			h.hit(crashtest.ApplyEnd)
			return fail
		}),
	}
	if rollback {
		c.Rollback = flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			coll, err := targets.Resolve[*gocb.Collection](d)
			if err != nil {
				return err
			}
			_, err = coll.Binary().Decrement(key, &gocb.DecrementOptions{Delta: 1, Context: ctx})
			return err
		})
	}
	return c
}

// effects is how many times change id took effect: the transactional
// count plus the non-transactional counter.
func (e *env) effects(t testing.TB, id string) int {
	t.Helper()
	n := 0
	for _, key := range []string{e.effectKey(id), e.counterKey(id)} {
		res, err := e.coll.Get(key, nil)
		if errors.Is(err, gocb.ErrDocumentNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		if key == e.effectKey(id) {
			var v map[string]int
			if err := res.Content(&v); err != nil {
				t.Fatal(err)
			}
			n += v["n"]
		} else {
			var v int
			if err := res.Content(&v); err != nil {
				t.Fatal(err)
			}
			n += v
		}
	}
	return n
}

func (e *env) runner(t testing.TB, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	opts = append([]flamingock.Option{flamingock.WithAuditStore(e.store), flamingock.WithTargets(e.target), flamingock.WithLockWait(60 * time.Second)}, opts...)
	r, err := flamingock.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) history(t testing.TB, id string) string {
	t.Helper()
	return audittest.States(t, e.store, id)
}

func (e *env) latest(t testing.TB, id string) audit.Entry {
	t.Helper()
	return audittest.Latest(t, e.store, id)
}

func stage(changes ...flamingock.Change) flamingock.Pipeline {
	return flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes})
}

var errBoom = fmt.Errorf("boom")

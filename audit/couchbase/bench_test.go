package couchbase

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cbtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// opCounter is a gocb request tracer that counts the requests the SDK
// sends, by operation name (top-level spans: one per KV or sub-document
// request).
type opCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *opCounter) RequestSpan(parent gocb.RequestSpanContext, name string) gocb.RequestSpan {
	if parent == nil {
		c.mu.Lock()
		c.ops[name]++
		c.mu.Unlock()
	}
	return noopSpan{}
}

func (c *opCounter) take() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, n := c.ops, 0
	for _, v := range old {
		n += v
	}
	c.ops = map[string]int{}
	return old, n
}

type noopSpan struct{}

func (noopSpan) End()                             {}
func (noopSpan) Context() gocb.RequestSpanContext { return nil }
func (noopSpan) AddEvent(string, time.Time)       {}
func (noopSpan) SetAttribute(string, any)         {}

// noopPipeline is n non-transactional changes that do nothing.
func noopPipeline(n int) flamingock.Pipeline {
	changes := make([]flamingock.Change, n)
	for i := range changes {
		id := fmt.Sprintf("change-%04d", i)
		changes[i] = flamingock.Change{
			ID: id, Order: fmt.Sprintf("%04d", i), Target: "cb", Recovery: flamingock.RecoveryManual, Checksum: "sha256:" + id,
			Apply: flamingock.ChangeFunc(func(context.Context, *targets.Deps) error { return nil }),
		}
	}
	return flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes})
}

// seed writes, in the store's own format, a history of n entries (n >= the
// number of changes) whose latest entry for every change of p is APPLIED.
// It writes the documents directly, in one bulk batch plus one state
// document, because appending them one by one through gocaves is
// impractical: gocaves keeps every revision of a document, and each append
// rewrites the state document.
func seed(b *testing.B, s *Store, p flamingock.Pipeline, n int) {
	ctx := context.Background()
	changes := p[0].Changes
	latest := map[string]audit.Entry{}
	var ops []gocb.BulkOp
	now := time.Now().UTC()
	var tail audit.Entry
	for seq := int64(1); seq <= int64(n); seq++ {
		c := changes[int(seq-1)%len(changes)]
		e := audit.Entry{
			Seq: seq, RunID: "seed", Stage: "s", ChangeID: c.ID, Order: c.Order, State: audit.Applied, TargetID: "cb",
			TxStrategy: audit.NonTx, Recovery: "manual", Checksum: c.Checksum, CreatedAt: now, Host: "bench", PID: 1,
			ToolVersion: "bench", Actor: "bench", Token: 1,
		}
		latest[c.ID], tail = e, e
		if seq < int64(n) {
			ops = append(ops, &gocb.InsertOp{ID: s.EntryKey(seq), Value: e})
		}
	}
	for len(ops) > 0 {
		batch := ops[:min(len(ops), 500)]
		ops = ops[len(batch):]
		if err := s.coll.Do(batch, &gocb.BulkOpOptions{Context: ctx, Timeout: time.Minute}); err != nil {
			b.Fatal(err)
		}
		for _, op := range batch {
			if err := op.(*gocb.InsertOp).Err; err != nil {
				b.Fatal(err)
			}
		}
	}
	state := map[string]any{"seq": n, "token": 1, "latest": latest, "tail": tail}
	if _, err := s.coll.Upsert(s.stateKey, state, &gocb.UpsertOptions{Context: ctx, Timeout: time.Minute}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStartupUpToDate is a run of a pipeline of 300 changes that are
// all applied, against gocaves. The kv-ops/run metric counts the requests
// the SDK sent: the run reads the snapshot (one get) and stops, whatever the
// length of the history behind it.
//
// 300 rather than 1,000 changes: gocaves fails to return a document larger
// than a few hundred kilobytes (a 500 KB get times out; 200 KB works), and
// the state document holds about 450 bytes per change. Couchbase Server
// returns documents up to 20 MiB.
func BenchmarkStartupUpToDate(b *testing.B) {
	srv := cbtest.Shared(b)
	const changes = 300
	p := noopPipeline(changes)
	for _, history := range []int{changes, 10 * changes} {
		b.Run(fmt.Sprintf("changes=%d/history=%d", changes, history), func(b *testing.B) {
			counter := &opCounter{ops: map[string]int{}}
			cluster := srv.Connect(b, func(o *gocb.ClusterOptions) { o.Tracer = counter })
			ctx := context.Background()
			s, err := New(ctx, cluster, cbtest.Bucket, WithKeyPrefix(cbtest.Prefix(b)))
			if err != nil {
				b.Fatal(err)
			}
			seed(b, s, p, history)
			runner, err := flamingock.New(p, flamingock.WithAuditStore(s), flamingock.WithTargets(flamingock.NewDependencyTarget("cb")),
				flamingock.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			if h, err := s.History(ctx, audit.HistoryQuery{}); err != nil || len(h) != history {
				b.Fatalf("seeded history: %d entries, %v", len(h), err)
			}
			counter.take()
			for b.Loop() {
				rep, err := runner.Run(ctx)
				if err != nil || !rep.UpToDate {
					b.Fatalf("run: %v (report %+v)", err, rep)
				}
			}
			ops, n := counter.take()
			b.ReportMetric(float64(n)/float64(b.N), "kv-ops/run")
			b.Logf("requests over %d runs: %v", b.N, ops)
		})
	}
}

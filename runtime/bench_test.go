package runtime_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/memory"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// noopPipeline has n non-transactional changes that do nothing, so a run
// measures only the runner and the audit store.
func noopPipeline(n int) flamingock.Pipeline {
	chs := make([]flamingock.Change, n)
	for i := range chs {
		id := fmt.Sprintf("change-%05d", i)
		chs[i] = flamingock.Change{ID: id, Order: fmt.Sprint(i), Checksum: "sha256:" + id, Recovery: flamingock.RecoveryManual,
			Apply: flamingock.Func0(func(context.Context) error { return nil })}
	}
	return flamingock.NewPipeline(flamingock.Stage{Name: "bench", Changes: chs})
}

// BenchmarkRunOverheadPerChange applies 100 no-op changes to a fresh
// in-memory store per iteration and reports the cost per change.
func BenchmarkRunOverheadPerChange(b *testing.B) {
	const n = 100
	p := noopPipeline(n)
	b.ReportAllocs()
	for b.Loop() {
		r, err := flamingock.New(p, flamingock.WithAuditStore(memory.New()), quiet)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
}

// BenchmarkBareAppendsPerChange is the baseline for the one above: the two
// audit appends (STARTED, APPLIED) a non-transactional change needs, made
// directly on the in-memory store.
func BenchmarkBareAppendsPerChange(b *testing.B) {
	const n = 100
	b.ReportAllocs()
	for b.Loop() {
		s := memory.New()
		l, err := s.AcquireLock(context.Background(), audit.Owner{Host: "h"}, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			e := audit.Entry{RunID: "r", ChangeID: fmt.Sprintf("change-%05d", i), State: audit.Started, Token: l.Token}
			if _, err := s.Append(context.Background(), e); err != nil {
				b.Fatal(err)
			}
			e.State = audit.Applied
			if _, err := s.Append(context.Background(), e); err != nil {
				b.Fatal(err)
			}
		}
		_ = s.ReleaseLock(context.Background(), l)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
}

func appliedSQLite(b *testing.B, n int) (*sqlite.Store, flamingock.Pipeline) {
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	p := noopPipeline(n)
	r, err := flamingock.New(p, flamingock.WithAuditStore(store), quiet)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	return store, p
}

// BenchmarkStartupUpToDateSQLite is a service starting with 1,000 changes
// applied and nothing pending, on the embedded SQLite store.
func BenchmarkStartupUpToDateSQLite(b *testing.B) {
	store, p := appliedSQLite(b, 1000)
	r, err := flamingock.New(p, flamingock.WithAuditStore(store), quiet)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := r.Run(context.Background())
		if err != nil || !rep.UpToDate {
			b.Fatalf("not up to date: %v", err)
		}
	}
}

// BenchmarkSnapshotSQLite is the floor for the startup benchmark: the one
// read the up-to-date check cannot avoid.
func BenchmarkSnapshotSQLite(b *testing.B) {
	store, _ := appliedSQLite(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Snapshot(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// quiet keeps the benchmarks' figures to the runner's work: the default
// logger would write a line per change.
var quiet = flamingock.WithLogger(slog.New(slog.DiscardHandler))

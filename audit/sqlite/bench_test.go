package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

// seeded opens a store holding history entries spread over changes (the
// entries of a change are not adjacent), written through AppendTx in one
// transaction to keep setup fast.
func seeded(b *testing.B, changes, history int) (*sqlite.Store, audit.Lease) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	lease, err := s.AcquireLock(ctx, audittest.Owner("bench"), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < history; i++ {
		e := audittest.SampleEntry(fmt.Sprintf("change-%05d", i%changes), audit.States[i%len(audit.States)], lease.Token)
		if _, err := s.AppendTx(ctx, tx, e); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s, lease
}

// BenchmarkSnapshot shows that reading the snapshot costs the number of
// changes, not the length of the history.
func BenchmarkSnapshot(b *testing.B) {
	for _, c := range []struct{ changes, history int }{
		{100, 100}, {100, 10_000}, {1_000, 1_000}, {1_000, 10_000},
	} {
		b.Run(fmt.Sprintf("changes=%d/history=%d", c.changes, c.history), func(b *testing.B) {
			s, _ := seeded(b, c.changes, c.history)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				snap, err := s.Snapshot(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(snap) != c.changes {
					b.Fatalf("snapshot has %d changes, want %d", len(snap), c.changes)
				}
			}
		})
	}
}

// BenchmarkAppend measures one fenced append in its own transaction
// (including the commit's fsync), on a small and a large history.
func BenchmarkAppend(b *testing.B) {
	for _, history := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			s, lease := seeded(b, 100, history)
			ctx := context.Background()
			e := audittest.SampleEntry("bench-change", audit.Applied, lease.Token)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Append(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLockCycle measures acquire + release, the lock cost of a run that
// has work to do.
func BenchmarkLockCycle(b *testing.B) {
	s, lease := seeded(b, 1, 1)
	ctx := context.Background()
	if err := s.ReleaseLock(ctx, lease); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := s.AcquireLock(ctx, audittest.Owner("bench"), time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ReleaseLock(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppliedDigest shows that the runner's up-to-date check reads one
// row whatever the number of changes (compare BenchmarkSnapshot).
func BenchmarkAppliedDigest(b *testing.B) {
	for _, changes := range []int{100, 1_000} {
		b.Run(fmt.Sprintf("changes=%d", changes), func(b *testing.B) {
			s, _ := seeded(b, changes, 10_000)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.AppliedDigest(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendChangingDigest is BenchmarkAppend with every append
// changing the applied set (alternating checksums), so each one also
// updates the digest row.
func BenchmarkAppendChangingDigest(b *testing.B) {
	s, lease := seeded(b, 100, 100)
	ctx := context.Background()
	e := audittest.SampleEntry("bench-change", audit.Applied, lease.Token)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Checksum = fmt.Sprintf("sha256:%d", i%2)
		i++
		if _, err := s.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/memory"
)

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	l, err := s.AcquireLock(ctx, audittest.Owner("bench"), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	e := audittest.SampleEntry("c1", audit.Applied, l.Token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshot shows the snapshot costs the number of changes, not the
// length of the history.
func BenchmarkSnapshot(b *testing.B) {
	for _, c := range []struct{ changes, history int }{{100, 100}, {100, 10_000}, {1_000, 10_000}} {
		b.Run(fmt.Sprintf("changes=%d/history=%d", c.changes, c.history), func(b *testing.B) {
			ctx := context.Background()
			s := memory.New()
			l, err := s.AcquireLock(ctx, audittest.Owner("bench"), time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < c.history; i++ {
				if _, err := s.Append(ctx, audittest.SampleEntry(fmt.Sprintf("change-%05d", i%c.changes), audit.Applied, l.Token)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if snap, err := s.Snapshot(ctx); err != nil || len(snap) != c.changes {
					b.Fatalf("snapshot: %d changes, %v", len(snap), err)
				}
			}
		})
	}
}

package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/postgres"
)

// BenchmarkAppend measures one fenced append (history insert and latest
// upsert in one statement).
func BenchmarkAppend(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	e := audittest.SampleEntry("c1", audit.Applied, l.Token)
	for b.Loop() {
		if _, err := s.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendNewChange measures the append a shared-transaction run
// makes: the first entry (APPLIED) of a change, which adds a latest row
// and updates the digest.
func BenchmarkAppendNewChange(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Append(ctx, audittest.SampleEntry(fmt.Sprintf("c%07d", i), audit.Applied, l.Token)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendStartedThenApplied measures the two appends of a change
// run outside a shared transaction: STARTED adds the latest row, APPLIED
// replaces it and updates the digest.
func BenchmarkAppendStartedThenApplied(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("c%07d", i)
		for _, st := range []audit.State{audit.Started, audit.Applied} {
			if _, err := s.Append(ctx, audittest.SampleEntry(id, st, l.Token)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAppliedDigest measures the up-to-date check's read.
func BenchmarkAppliedDigest(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.AppliedDigest(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshot reads the latest state of 100 changes after histories
// of different lengths: the time should not grow with the history.
func BenchmarkSnapshot(b *testing.B) {
	for _, history := range []int{100, 3000} {
		b.Run(fmt.Sprintf("changes=100/history=%d", history), func(b *testing.B) {
			s, _ := newStore(b)
			ctx := context.Background()
			l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			for i := range history {
				if _, err := s.Append(ctx, audittest.SampleEntry(fmt.Sprintf("c%03d", i%100), audit.Applied, l.Token)); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := s.Snapshot(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLockCycle measures acquire + release, what a run with pending
// changes pays for the lock.
func BenchmarkLockCycle(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	for b.Loop() {
		l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ReleaseLock(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew measures opening a store on existing tables (the idempotent
// schema creation round trip).
func BenchmarkNew(b *testing.B) {
	_, pool := newStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := postgres.New(ctx, pool); err != nil { // search_path is the test schema
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendGuards measures what the guard triggers cost an append:
// the two appends of a change run outside a shared transaction (STARTED
// inserts its latest row, APPLIED updates it, which evaluates the row
// trigger's WHEN), with the triggers and with them dropped. Run it with
// -count so the two alternate, and compare them as a ratio.
func BenchmarkAppendGuards(b *testing.B) {
	for _, guarded := range []bool{true, false} {
		b.Run(fmt.Sprintf("guarded=%v", guarded), func(b *testing.B) {
			s, pool := newStore(b)
			ctx := context.Background()
			if !guarded {
				if _, err := pool.Exec(ctx, `DROP TRIGGER flamingock_edited ON flamingock_audit;
					DROP TRIGGER flamingock_edited ON flamingock_audit_latest;
					DROP TRIGGER flamingock_edited_row ON flamingock_audit_latest`); err != nil {
					b.Fatal(err)
				}
			}
			l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				i++
				id := fmt.Sprintf("c%07d", i)
				for _, st := range []audit.State{audit.Started, audit.Applied} {
					if _, err := s.Append(ctx, audittest.SampleEntry(id, st, l.Token)); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

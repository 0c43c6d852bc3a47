package mysql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

func newBenchStore(b *testing.B, configure ...func(*driver.Config)) *mysql.Store {
	b.Helper()
	db, _ := mytest.NewDB(b, configure...)
	s, err := mysql.New(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAppend measures one fenced append: the lease check, the digest
// update, the history insert and the latest upsert, in one transaction.
// With the driver's defaults each statement with parameters is prepared
// and executed (two round trips); interpolateParams=true sends it in one.
func BenchmarkAppend(b *testing.B) {
	modes := map[string]func(*driver.Config){
		"prepared":    func(*driver.Config) {},
		"interpolate": func(c *driver.Config) { c.InterpolateParams = true },
	}
	for name, configure := range modes {
		b.Run(name, func(b *testing.B) {
			s := newBenchStore(b, configure)
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
		})
	}
}

// BenchmarkAppliedDigest measures the runner's no-op check, one row read,
// at several numbers of applied changes: the cost must not grow with them.
func BenchmarkAppliedDigest(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("changes=%d", n), func(b *testing.B) {
			s := newBenchStore(b)
			ctx := context.Background()
			l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if _, err := s.Append(ctx, audittest.SampleEntry(fmt.Sprintf("c%d", i), audit.Applied, l.Token)); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if d, err := s.AppliedDigest(ctx); err != nil || d.Count != int64(n) {
					b.Fatal(d, err)
				}
			}
		})
	}
}

// BenchmarkNewOnExistingTables measures a store's start when its tables are
// in place: one read-only probe.
func BenchmarkNewOnExistingTables(b *testing.B) {
	s := newBenchStore(b)
	for b.Loop() {
		if _, err := mysql.New(context.Background(), s.DB()); err != nil {
			b.Fatal(err)
		}
	}
}

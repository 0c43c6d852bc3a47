package kafkatarget_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/kafkatarget"
)

func benchEnv(b *testing.B) *env {
	b.Helper()
	e, err := openEnv(context.Background(), newCluster(b), filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.close)
	return e
}

// BenchmarkReadMarker reads one change's marker from a marker topic that
// holds the markers of n changes: the cost of deciding, after a crash,
// whether a Kafka transaction committed. It grows with the topic, which
// compaction keeps at about one record per change.
func BenchmarkReadMarker(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("markers=%d", n), func(b *testing.B) {
			e := benchEnv(b)
			ctx := context.Background()
			if _, _, err := e.target.ReadMarker(ctx, "x"); err != nil {
				b.Fatal(err)
			}
			recs := make([]*kgo.Record, n)
			for i := range recs {
				recs[i] = &kgo.Record{Topic: kafkatarget.DefaultMarkerTopic, Key: fmt.Appendf(nil, "change-%d", i), Value: []byte(`{"run_id":"r","token":1}`)}
			}
			if err := e.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, found, err := e.target.ReadMarker(ctx, "change-0"); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
	}
}

// BenchmarkTransactionalChange is one transactional change end to end:
// STARTED, begin, produce one record, marker check and write, commit,
// APPLIED (SQLite audit store, kfake cluster in the same process).
func BenchmarkTransactionalChange(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("c%d", i)
		r, err := flamingock.New(stage(produceChange(id, "1", true, flamingock.RecoveryManual, hooks{}, nil)),
			flamingock.WithAuditStore(e.store), flamingock.WithTargets(e.target),
			flamingock.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

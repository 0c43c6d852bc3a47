package couchbase_test

import (
	"context"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	cbaudit "github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/internal/cbtest"
)

func TestMain(m *testing.M) { cbtest.Main(m) }

// TestConformance runs the audit suite against gocaves. Each opener call
// makes a new cluster connection, as another process would.
func TestConformance(t *testing.T) {
	srv := cbtest.Shared(t)
	audittest.Run(t, func(t *testing.T) audittest.Opener {
		prefix := cbtest.Prefix(t)
		return func() (audit.Store, error) {
			c, err := srv.Open()
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { _ = c.Close(nil) })
			return cbaudit.New(context.Background(), c, cbtest.Bucket, cbaudit.WithKeyPrefix(prefix))
		}
	})
}

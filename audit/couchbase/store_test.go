package couchbase_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/couchbase"
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
			return couchbase.New(context.Background(), c, cbtest.Bucket, couchbase.WithKeyPrefix(prefix))
		}
	})
}

func TestWithoutAutoCreateCreatesNothing(t *testing.T) {
	c := cbtest.Shared(t).Connect(t)
	ctx := context.Background()
	prefix := cbtest.Prefix(t)
	_, err := couchbase.New(ctx, c, cbtest.Bucket, couchbase.WithKeyPrefix(prefix), couchbase.WithoutAutoCreate())
	if !errors.Is(err, couchbase.ErrNoAuditTrail) || !strings.Contains(err.Error(), prefix+"::state") {
		t.Fatalf("want ErrNoAuditTrail naming the state document, got %v", err)
	}
	if _, err := c.Bucket(cbtest.Bucket).DefaultCollection().Get(prefix+"::state", nil); !errors.Is(err, gocb.ErrDocumentNotFound) {
		t.Fatalf("the state document exists after WithoutAutoCreate: %v", err)
	}
	if _, err := couchbase.New(ctx, c, cbtest.Bucket, couchbase.WithKeyPrefix(prefix)); err != nil {
		t.Fatal(err)
	}
	s, err := couchbase.New(ctx, c, cbtest.Bucket, couchbase.WithKeyPrefix(prefix), couchbase.WithoutAutoCreate())
	if err != nil {
		t.Fatalf("opening an existing trail: %v", err)
	}
	if snap, err := s.Snapshot(ctx); err != nil || len(snap) != 0 {
		t.Fatalf("snapshot %v, %v", snap, err)
	}
}

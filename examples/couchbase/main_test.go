package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/examples/couchbase/changes/catalog"
	"github.com/flamingock/flamingock-go/internal/cbtest"
)

func TestMain(m *testing.M) { cbtest.Main(m) }

var wantProtocols = []struct {
	id       string
	protocol audit.TxStrategy
}{
	{"seed-catalog-documents", audit.TxShared},
	{"add-currency", audit.TxShared},
	{"build-search-index", audit.NonTx},
}

// TestRunTwice runs the example twice against gocaves, through the same
// connectAndRun the command uses: the first run applies every change, the
// second finds nothing pending and writes nothing.
func TestRunTwice(t *testing.T) {
	srv := cbtest.Shared(t)
	ctx := context.Background()
	if err := connectAndRun(ctx, srv.ConnStr, srv.User, srv.Password, cbtest.Bucket); err != nil {
		t.Fatalf("first run: %v", err)
	}
	cluster := srv.Connect(t)
	store, err := couchbase.New(ctx, cluster, cbtest.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range wantProtocols {
		if e := snap[want.id]; e.State != audit.Applied || e.TxStrategy != want.protocol {
			t.Errorf("%s: %s under %s, want APPLIED under %s", want.id, e.State, e.TxStrategy, want.protocol)
		}
	}
	coll := cluster.Bucket(cbtest.Bucket).DefaultCollection()
	for _, sku := range catalog.SKUs {
		res, err := coll.Get(catalog.ProductKey(sku), nil)
		if err != nil {
			t.Fatalf("product %s: %v", sku, err)
		}
		var p catalog.Product
		if err := res.Content(&p); err != nil || p.Currency != "EUR" {
			t.Errorf("product %s: %+v, %v; want currency EUR", sku, p, err)
		}
	}
	res, err := coll.Get(catalog.SearchIndexKey, nil)
	if err != nil {
		t.Fatalf("search index: %v", err)
	}
	var index map[string]string
	if err := res.Content(&index); err != nil || index["flamingo mug"] != "FL-001" || len(index) != 3 {
		t.Errorf("search index %v, %v", index, err)
	}
	before, err := store.History(ctx, audit.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	rep, err := run(ctx, cluster, cbtest.Bucket, &out)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !rep.UpToDate || !strings.Contains(out.String(), "Everything is up to date: 3 changes applied") {
		t.Errorf("second run was not up to date:\n%s", &out)
	}
	after, err := store.History(ctx, audit.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the second run wrote %d audit entries", len(after)-len(before))
	}
}

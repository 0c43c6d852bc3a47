package main

import (
	"slices"
	"testing"

	"github.com/flamingock/flamingock-go/audit/storeurl"
)

// TestOpensEveryStore: the standalone binary registers the URL schemes of
// every audit store of the module (the mounted command registers none).
func TestOpensEveryStore(t *testing.T) {
	got := storeurl.Schemes()
	for _, s := range []string{"couchbase", "couchbases", "file", "mariadb", "mysql", "postgres", "postgresql", "sqlite", "sqlite3"} {
		if !slices.Contains(got, s) {
			t.Errorf("scheme %q is not registered (registered: %v)", s, got)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

// wantProtocols is every change of the pipeline, in order, with the
// protocol it must run under: the store shares the target's *sql.DB, so
// the data changes commit with their audit entry; the DDL changes run
// outside a transaction.
var wantProtocols = []struct {
	id       string
	protocol audit.TxStrategy
}{
	{"create-items", audit.NonTx},
	{"seed-items", audit.TxShared},
	{"add-stock", audit.NonTx},
	{"initial-stock", audit.TxShared},
}

// TestRunTwice runs the example twice on an empty database: the first run
// applies every change, the second finds nothing pending.
func TestRunTwice(t *testing.T) {
	db, _ := mytest.NewDB(t)
	ctx := context.Background()

	var out bytes.Buffer
	rep, err := run(ctx, db, &out)
	if err != nil {
		t.Fatalf("first run: %v\noutput:\n%s", err, &out)
	}
	if len(rep.Changes) != len(wantProtocols) {
		t.Fatalf("first run reported %d changes, want %d", len(rep.Changes), len(wantProtocols))
	}
	for i, want := range wantProtocols {
		got := rep.Changes[i]
		if got.ChangeID != want.id || got.State != audit.Applied || got.Protocol != want.protocol {
			t.Errorf("change %d: %s %s under %s, want %s APPLIED under %s", i, got.ChangeID, got.State, got.Protocol, want.id, want.protocol)
		}
	}
	if !strings.Contains(out.String(), "Applied 4 change(s).") {
		t.Errorf("first run's output lacks its summary:\n%s", &out)
	}
	var stock int
	if err := db.QueryRow(`SELECT sum(stock) FROM items`).Scan(&stock); err != nil || stock != 2500 {
		t.Errorf("total stock %d (%v), want 2500", stock, err)
	}

	out.Reset()
	rep, err = run(ctx, db, &out)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !rep.UpToDate || !strings.Contains(out.String(), "Everything is up to date: 4 changes applied") {
		t.Errorf("second run is not up to date: %+v\n%s", rep, &out)
	}
}

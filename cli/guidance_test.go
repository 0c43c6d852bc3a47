package cli_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// TestGuidanceByState records what issue get says for each kind of issue:
// STARTED (left by a process that died mid-change, reproduced by writing
// the entry a dying run leaves), FAILED (a real run of a change without a
// rollback) and ROLLBACK_FAILED (in the incident scenario's golden).
func TestGuidanceByState(t *testing.T) {
	// The transcript holds this machine's host name, whose length would
	// move where a 100-column table cuts its text; TestTablesFit100Columns
	// checks the width.
	t.Setenv("COLUMNS", "1000")
	store, url := openSQLite(t)
	ctx := context.Background()
	w := newWorkshop(t)

	failing := fileChange("rotate-keys", "0001", func(_ context.Context, r *os.Root) error {
		if err := r.WriteFile("keys.new", []byte("k2"), 0o600); err != nil {
			return err
		}
		return errors.New("renaming keys.new to keys: permission denied")
	}, nil)
	target := flamingock.NewDependencyTarget("files", w.root)
	runner, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "example.com/app/changes/keys", Changes: []flamingock.Change{failing}}),
		flamingock.WithAuditStore(store), flamingock.WithTargets(target))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Run(ctx); err == nil {
		t.Fatal("rotate-keys should have failed")
	}

	// What a run that was killed after recording STARTED leaves behind.
	owner := audit.Owner{Host: "web-3", PID: 7311, RunID: "aaaaaaaaaaaaaaaaaaaaaaaa"}
	lease, err := store.AcquireLock(ctx, owner, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Append(ctx, audit.Entry{
		RunID: owner.RunID, Stage: "example.com/app/changes/billing", ChangeID: "backfill-invoices", Author: "bob", Order: "0003",
		State: audit.Started, TargetID: "billing-api", TxStrategy: audit.NonTx, Recovery: "manual", Checksum: "sha256:x",
		Host: owner.Host, PID: owner.PID, ToolVersion: flamingock.Version, Actor: "billing", Token: lease.Token,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.ReleaseLock(ctx, lease); err != nil {
		t.Fatal(err)
	}

	ops := standalone(url)
	var rs []result
	rs = append(rs, expect(t, execute(t, ops, "issue", "list"), 1))
	started := expect(t, execute(t, ops, "issue", "get", "--change", "backfill-invoices"), 0)
	failed := expect(t, execute(t, ops, "issue", "get", "--change", "rotate-keys"), 0)
	rs = append(rs, started, failed)
	for _, want := range []string{"no outcome was ever recorded", "pid 7311 on web-3 is gone", "lock show", `target "billing-api"`} {
		if !strings.Contains(started.stdout, want) {
			t.Errorf("STARTED guidance lacks %q:\n%s", want, started)
		}
	}
	for _, want := range []string{"declares no rollback", "permission denied", "how far it got"} {
		if !strings.Contains(failed.stdout, want) {
			t.Errorf("FAILED guidance lacks %q:\n%s", want, failed)
		}
	}
	golden(t, "guidance.golden", transcriptText(t, rs, url))
}

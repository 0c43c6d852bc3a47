package runtime_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flamingock/flamingock-go/audit/memory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
)

// An SQL-file change aimed at a target that provides no sqlscript.Execer
// is refused before anything is applied or recorded.
func TestSQLFileNeedsAnSQLTarget(t *testing.T) {
	fsys := fstest.MapFS{"1_a.sql": {Data: []byte("-- flamingock:change id=a\nSELECT 1;\n")}}
	store := memory.New()
	r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: []flamingock.Change{{
		ID: "a", Order: "1", Target: "files", Recovery: flamingock.RecoveryManual, Checksum: "sha256:a",
		Apply: flamingock.SQLFile{FS: fsys, Name: "1_a.sql", Path: "m/1_a.sql"},
	}}}), flamingock.WithAuditStore(store), flamingock.WithTargets(flamingock.NewDependencyTarget("files")),
		flamingock.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `change "a" needs a sqlscript.Execer, which target "files" does not provide`) {
		t.Fatalf("got %v, want the change's missing sqlscript.Execer reported", err)
	}
	snap, err := store.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 0 {
		t.Fatalf("the audit holds %v; nothing should have been recorded", snap)
	}
}

func TestSQLFileStatements(t *testing.T) {
	fsys := fstest.MapFS{"1_a.sql": {Data: []byte("-- flamingock:change id=a\nSELECT 1;\n\nSELECT 2;\n-- flamingock:rollback\nSELECT 3;\n")}}
	for _, c := range []struct {
		f    flamingock.SQLFile
		want []sqlscript.Statement
	}{
		{flamingock.SQLFile{FS: fsys, Name: "1_a.sql"}, []sqlscript.Statement{{SQL: "SELECT 1", Offset: 0, Line: 2}, {SQL: "SELECT 2", Offset: 11, Line: 4}}},
		{flamingock.SQLFile{FS: fsys, Name: "1_a.sql", Rollback: true}, []sqlscript.Statement{{SQL: "SELECT 3", Offset: 0, Line: 6}}},
	} {
		got, err := c.f.Statements(sqlscript.PostgreSQL)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("got %+v, want %+v", got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("statement %d: got %+v, want %+v", i, got[i], c.want[i])
			}
		}
	}
	if _, err := (flamingock.SQLFile{FS: fsys, Name: "missing.sql", Path: "m/missing.sql"}).Statements(sqlscript.SQLite); err == nil {
		t.Error("a missing file gave no error")
	}
}

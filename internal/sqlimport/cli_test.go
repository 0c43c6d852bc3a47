package sqlimport

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/sqlscript"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

func TestMainWritesAndNeverOverwrites(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "migrations")
	if err := os.WriteFile(filepath.Join(src, "00001_a.sql"), []byte("-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"-from", "goose", src, dst}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, &errOut)
	}
	doc, err := os.ReadFile(filepath.Join(dst, "doc.go"))
	if err != nil || !strings.Contains(string(doc), "package migrations\n\n//go:generate go tool flamingock-gen") {
		t.Fatalf("doc.go %q: %v", doc, err)
	}
	if _, err := os.Stat(filepath.Join(dst, "00001_a.sql")); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := Main([]string{"-from", "goose", src, dst}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "00001_a.sql exists") {
		t.Fatalf("second import: exit %d, %s", code, &errOut)
	}
}

// TestImportedMigrateExamplesApplyOnPostgres imports golang-migrate's own
// PostgreSQL example migrations, applies the converted files through the
// runtime and pgtarget, and checks a second run finds them all applied.
func TestImportedMigrateExamplesApplyOnPostgres(t *testing.T) {
	src := filepath.Join(moduleDir(t, "github.com/golang-migrate/migrate/v4@v4.20.1"), "database/postgres/examples/migrations")
	dst := t.TempDir()
	var out, errOut bytes.Buffer
	if code := Main([]string{"-from", "golang-migrate", src, dst}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, &errOut)
	}
	// golang-migrate runs a lone CREATE INDEX CONCURRENTLY outside a
	// transaction; so must the imported change.
	if idx, err := os.ReadFile(filepath.Join(dst, "1285849751_add_index_on_user_emails.sql")); err != nil || !strings.Contains(string(idx), " transactional=false ") {
		t.Fatalf("the concurrent index change is not imported non-transactional (%v):\n%s", err, idx)
	}
	fsys := os.DirFS(dst)
	names, _ := filepath.Glob(filepath.Join(dst, "*.sql"))
	var changes []flamingock.Change
	for _, n := range names {
		base := filepath.Base(n)
		content, _ := os.ReadFile(n)
		f, _, _ := sqlscript.ParseChangeFile(string(content))
		d, _, errs := annotations.Parse(f.Directive)
		order, _ := annotations.OrderFromFileName(base)
		if errs != nil {
			t.Fatalf("%s: %v", base, errs)
		}
		c := flamingock.Change{ID: d.Change.ID, Order: order, Target: "db", Transactional: d.Change.Transactional, Recovery: flamingock.RecoveryManual,
			Checksum: "sha256:" + base, Apply: flamingock.SQLFile{FS: fsys, Name: base, Path: base}}
		if f.Rollback != nil {
			c.Rollback = flamingock.SQLFile{FS: fsys, Name: base, Path: base, Rollback: true}
		}
		changes = append(changes, c)
	}
	if len(changes) != 9 {
		t.Fatalf("%d changes imported, want golang-migrate's 9 up migrations:\n%s", len(changes), &out)
	}
	schema := pgtest.New(t)
	pool := schema.Pool(t)
	ctx := context.Background()
	store, err := postgres.New(ctx, pool, postgres.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := pgtarget.New("db", pool, pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	for run, wantUpToDate := range []bool{false, true} {
		r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "imported", Changes: changes}),
			flamingock.WithAuditStore(store), flamingock.WithTargets(tg))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.UpToDate != wantUpToDate || rep.Total != 9 {
			t.Fatalf("run %d: up to date %v of %d changes, want %v of 9", run+1, rep.UpToDate, rep.Total, wantUpToDate)
		}
	}
	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if snap[c.ID].State != audit.Applied {
			t.Errorf("%s: %s, want APPLIED", c.ID, snap[c.ID].State)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('users', 'books', 'movies')").Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d of the migrations' tables exist: %v", n, err)
	}
}

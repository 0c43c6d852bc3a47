package gen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"testing"
)

func parseFunc(t *testing.T, src string) (*token.FileSet, *ast.FuncDecl) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", "package p\n"+src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	return fset, f.Decls[len(f.Decls)-1].(*ast.FuncDecl)
}

func TestChecksumIgnoresLayoutAndComments(t *testing.T) {
	base := `
func Create(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "CREATE TABLE users (id int)")
	return err
}`
	same := []string{
		// comments and doc
		`
// Create creates.
//
//flamingock:change id=x
func Create(ctx context.Context, tx *sql.Tx) error {
	// make the table
	_, err := tx.ExecContext(ctx, "CREATE TABLE users (id int)") /* inline */
	return err
}`,
		// line breaks, blank lines, trailing comma, explicit semicolons
		`
func Create(
	ctx context.Context,
	tx *sql.Tx,
) error {

	_, err := tx.ExecContext(
		ctx,
		"CREATE TABLE users (id int)",
	);

	return err
}`,
		`func Create(ctx context.Context, tx *sql.Tx) error { _, err := tx.ExecContext(ctx, "CREATE TABLE users (id int)"); return err }`,
	}
	different := []string{
		`
func Create(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "CREATE TABLE users (id bigint)")
	return err
}`,
		`
func Create(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "CREATE TABLE users (id int)")
	return nil
}`,
		`
func Create(ctx context.Context, tx *sql.Conn) error {
	_, err := tx.ExecContext(ctx, "CREATE TABLE users (id int)")
	return err
}`,
	}
	fset, fn := parseFunc(t, base)
	want := checksum(fset, nil, fn, nil)
	for i, src := range same {
		fset, fn := parseFunc(t, src)
		if got := checksum(fset, nil, fn, nil); got != want {
			t.Errorf("same[%d]: checksum %s, want %s", i, got, want)
		}
	}
	for i, src := range different {
		fset, fn := parseFunc(t, src)
		if got := checksum(fset, nil, fn, nil); got == want {
			t.Errorf("different[%d]: checksum equals the original's", i)
		}
	}
	// A rollback is part of the checksum.
	fset, rb := parseFunc(t, `func Drop(ctx context.Context, tx *sql.Tx) error { return nil }`)
	if got := checksum(fset, nil, fn, rb); got == want {
		t.Error("adding a rollback did not change the checksum")
	}
}

// TestChecksumFromFileMatchesPrinted checks that the fast path (tokens
// scanned from the file) and the printed declaration agree, doc comment
// and comments included in the file.
func TestChecksumFromFileMatchesPrinted(t *testing.T) {
	src := "package p\n\n// Doc.\n//\n//flamingock:change id=x\nfunc F(ctx context.Context, m map[string]int) error {\n\t// note\n\tfor k := range m { _ = k }\n\treturn nil\n}\n"
	path := filepath.Join(t.TempDir(), "f.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	fn := f.Decls[0].(*ast.FuncDecl)
	read := func(string) []byte { return []byte(src) }
	if a, b := checksum(fset, read, fn, nil), checksum(fset, nil, fn, nil); a != b {
		t.Fatalf("from the file %s, printed %s", a, b)
	}
}

func TestFingerprintFollowsOrderAndChecksums(t *testing.T) {
	a := &Change{ID: "a", Order: "1", Checksum: "sha256:aa"}
	b := &Change{ID: "b", Order: "2", Checksum: "sha256:bb"}
	base := fingerprint([]*Change{a, b})
	if fingerprint([]*Change{a, b}) != base {
		t.Fatal("fingerprint is not deterministic")
	}
	for name, cs := range map[string][]*Change{
		"reordered":   {b, a},
		"removed":     {a},
		"edited":      {a, {ID: "b", Order: "2", Checksum: "sha256:bc"}},
		"renumbered":  {a, {ID: "b", Order: "3", Checksum: "sha256:bb"}},
		"ids swapped": {{ID: "b", Order: "1", Checksum: "sha256:aa"}, {ID: "a", Order: "2", Checksum: "sha256:bb"}},
	} {
		if fingerprint(cs) == base {
			t.Errorf("%s: fingerprint unchanged", name)
		}
	}
}

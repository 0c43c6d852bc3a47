package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/internal/gen/unidiff"
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

// referenceTokens is the first implementation of the canonical token
// sequence, kept as the specification of [tokenWriter]: checksums already
// recorded in audit trails were computed from its output.
func referenceTokens(src []byte) []string {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	var out []string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		switch tok {
		case token.RPAREN, token.RBRACE, token.RBRACK:
			for len(out) > 0 && (out[len(out)-1] == ";" || out[len(out)-1] == ",") {
				out = out[:len(out)-1]
			}
		case token.SEMICOLON:
			if len(out) == 0 || out[len(out)-1] == ";" || out[len(out)-1] == "{" || out[len(out)-1] == "(" {
				continue
			}
			out = append(out, ";")
			continue
		}
		if lit != "" && tok != token.SEMICOLON {
			out = append(out, tok.String()+" "+lit)
		} else {
			out = append(out, tok.String())
		}
	}
	for len(out) > 0 && out[len(out)-1] == ";" {
		out = out[:len(out)-1]
	}
	return out
}

// TestTokenWriterMatchesReference compares the streaming token writer
// with the reference on every function declaration of this repository
// and on fragments chosen for their separators.
func TestTokenWriterMatchesReference(t *testing.T) {
	var w tokenWriter
	check := func(name string, src []byte) {
		t.Helper()
		var want strings.Builder
		for _, tok := range referenceTokens(src) {
			want.WriteString(tok + "\n")
		}
		if got := string(w.canonical(src)); got != want.String() {
			t.Errorf("%s: token lines differ:\n%s", name, unidiff.Diff("reference", "streaming", []byte(want.String()), []byte(got)))
		}
	}
	for i, frag := range []string{
		"", ";", ";;", ",", "f(a, b,)", "f(a, b, ;)", "{;}", "(;x)", "x;\n;\ny", "x,;", "x;,", "a,\n", "a;\n",
		"func F() {\n\tx := []int{\n\t\t1,\n\t\t2,\n\t}\n\t;\n}\n", "var ( a = 1; b = 2; )", "f(\n\tx,\n)\n",
	} {
		check(fmt.Sprintf("fragment %d %q", i, frag), []byte(frag))
	}
	decls := 0
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil // testdata holds broken files on purpose
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok {
				start, end := fset.Position(fn.Pos()).Offset, fset.Position(fn.End()).Offset
				check(fmt.Sprintf("%s:%s", path, fn.Name.Name), src[start:end])
				decls++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if decls < 100 {
		t.Errorf("compared only %d declarations", decls)
	}
}

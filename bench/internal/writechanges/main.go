// Command writechanges writes the changes packages the bench measures,
// bench/changes/nN for each size N, then runs flamingock-gen on them so
// that each has the registry an application would have: a generated
// Stage() over a static table. Run it from the bench module with
// go generate (see gen.go); the packages are not committed (the 10,000
// change package alone is several megabytes).
//
// Each change is one INSERT of its own number into the items table,
// inside its transaction, declared like a change an application writes:
//
//	//flamingock:change id=insert-item-000042 order=000042 target=db
//	func InsertItem000042(ctx context.Context, tx pgx.Tx) error
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// perFile keeps each source file a size an editor and the compiler handle
// like a hand-written one.
const perFile = 500

func main() {
	sizes := flag.String("sizes", "10,1000,10000", "package sizes to write, comma-separated")
	dir := flag.String("dir", "changes", "directory that receives one package per size")
	flag.Parse()
	for f := range strings.SplitSeq(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-sizes: %q is not a positive number", f))
		}
		pkg := filepath.Join(*dir, fmt.Sprintf("n%d", n))
		if err := writePackage(pkg, n); err != nil {
			fail(err)
		}
		// One run per package: the packages repeat each other's ids, which
		// one pipeline would refuse; each is a pipeline of its own.
		cmd := exec.Command("go", "tool", "flamingock-gen", "./"+filepath.ToSlash(pkg))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("flamingock-gen %s: %w", pkg, err))
		}
	}
}

func writePackage(dir string, n int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := filepath.Base(dir)
	doc := fmt.Sprintf(`// Package %[1]s holds %[2]d changes for the bench, each one INSERT of its
// number into the items table. Written by internal/writechanges.
package %[1]s

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// insertItem is the statement every change runs with its own number.
func insertItem(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := tx.Exec(ctx, "INSERT INTO items (id) VALUES ($1)", id)
	return err
}
`, name, n)
	if err := os.WriteFile(filepath.Join(dir, "doc.go"), []byte(doc), 0o644); err != nil {
		return err
	}
	for f := 0; f*perFile < n; f++ {
		var src strings.Builder
		fmt.Fprintf(&src, "package %s\n\nimport (\n\t\"context\"\n\n\t\"github.com/jackc/pgx/v5\"\n)\n", name)
		for i := f*perFile + 1; i <= min(n, (f+1)*perFile); i++ {
			fmt.Fprintf(&src, "\n//flamingock:change id=insert-item-%06[1]d order=%06[1]d author=bench target=db\nfunc InsertItem%06[1]d(ctx context.Context, tx pgx.Tx) error {\n\treturn insertItem(ctx, tx, %[1]d)\n}\n", i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%03d.go", f)), []byte(src.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "writechanges:", err)
	os.Exit(2)
}

package sqlimport

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flamingock/flamingock-go/sqlscript"
)

const usage = `usage: flamingock-gen import -from goose|golang-migrate [-dialect postgres|mysql|sqlite] [-author a] [-target t] SRC DST

Converts the migrations in SRC into flamingock SQL-file changes in DST (a
changes package: it gets a doc.go with the go:generate line when it has no
Go file). Existing files in DST are never overwritten. Migrations that
cannot be converted faithfully are listed, and the command exits 2.

Flags:
`

// Main runs the import command with args (after "import") and returns the
// exit code: 0 converted, 2 problems or errors.
func Main(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("flamingock-gen import", flag.ContinueOnError)
	fl.SetOutput(stderr)
	from := fl.String("from", "", "the migration tool: goose or golang-migrate")
	dialect := fl.String("dialect", "postgres", "the database's SQL dialect: postgres, mysql or sqlite")
	author := fl.String("author", "", "author= of every imported change")
	target := fl.String("target", "", "target= of every imported change")
	fl.Usage = func() { fmt.Fprint(stderr, usage); fl.PrintDefaults() }
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 2 {
		fl.Usage()
		return 2
	}
	d, ok := map[string]sqlscript.Dialect{"postgres": sqlscript.PostgreSQL, "mysql": sqlscript.MySQL, "sqlite": sqlscript.SQLite}[*dialect]
	if !ok {
		fmt.Fprintf(stderr, "flamingock-gen import: -dialect %q: want postgres, mysql or sqlite\n", *dialect)
		return 2
	}
	src, dst := fl.Arg(0), fl.Arg(1)
	files, problems, err := Import(os.DirFS(src), Options{From: *from, Dialect: d, Author: *author, Target: *target})
	if err != nil {
		fmt.Fprintf(stderr, "flamingock-gen import: %v\n", err)
		return 2
	}
	if err := write(dst, files); err != nil {
		fmt.Fprintf(stderr, "flamingock-gen import: %v\n", err)
		return 2
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "%s <- %s\n", filepath.Join(dst, f.Name), strings.Join(f.From, ", "))
	}
	for _, p := range problems {
		fmt.Fprintf(stderr, "%s\n", Problem{File: filepath.Join(src, p.File), Line: p.Line, Msg: p.Msg})
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "flamingock-gen import: %d migration(s) not converted\n", len(problems))
		return 2
	}
	fmt.Fprintf(stdout, "%d change(s) written; run go generate in %s\n", len(files), dst)
	return 0
}

// write creates dst's files, refusing to overwrite any, and a doc.go when
// dst has no Go file.
func write(dst string, files []File) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dst, f.Name)); err == nil {
			return fmt.Errorf("%s exists; import into an empty directory or remove it", filepath.Join(dst, f.Name))
		}
	}
	gofiles, _ := filepath.Glob(filepath.Join(dst, "*.go"))
	if len(gofiles) == 0 {
		pkg := strings.NewReplacer("-", "", ".", "").Replace(filepath.Base(filepath.Clean(dst)))
		doc := fmt.Sprintf("// Package %s holds changes imported as SQL files.\npackage %s\n\n//go:generate go tool flamingock-gen\n", pkg, pkg)
		if err := os.WriteFile(filepath.Join(dst, "doc.go"), []byte(doc), 0o644); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dst, f.Name), []byte(f.Content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

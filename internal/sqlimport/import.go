package sqlimport

import (
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/flamingock/flamingock-go/sqlscript"
)

// The migration tools Import reads.
const (
	Goose         = "goose"
	GolangMigrate = "golang-migrate"
)

// Options says what to import and how to write it.
type Options struct {
	From    string            // Goose or GolangMigrate
	Dialect sqlscript.Dialect // the database's, to check statements survive the conversion
	Author  string            // optional author= of every change
	Target  string            // optional target= of every change
}

// File is one converted change file.
type File struct {
	Name    string // base name in the output directory
	Content string
	// From lists the source files it was made from.
	From []string
}

// Problem is a migration that was not converted, or needs a hand.
type Problem struct {
	File string
	Line int // 0 when it concerns the whole file
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Import converts the migrations at the top of fsys. Files it cannot
// convert are reported as problems and left out of the result.
func Import(fsys fs.FS, opt Options) ([]File, []Problem, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, nil, err
	}
	switch opt.From {
	case Goose:
		return importGoose(fsys, entries, opt)
	case GolangMigrate:
		return importMigrate(fsys, entries, opt)
	}
	return nil, nil, fmt.Errorf("unknown migration tool %q: want %s or %s", opt.From, Goose, GolangMigrate)
}

var (
	gooseName   = regexp.MustCompile(`^(\d+)_(.+)\.(sql|go)$`)
	migrateName = regexp.MustCompile(`^(\d+)_(.+)\.(up|down)\.sql$`)
	notIDChar   = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// header writes the comment lines and directive of a converted file.
func header(opt Options, from, version, name string, transactional bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- Imported from %s: %s\n", opt.From, from)
	id := notIDChar.ReplaceAllString(version+"_"+name, "-")
	fmt.Fprintf(&b, "-- flamingock:change id=%s", id)
	if opt.Author != "" {
		fmt.Fprintf(&b, " author=%s", quote(opt.Author))
	}
	if opt.Target != "" {
		fmt.Fprintf(&b, " target=%s", quote(opt.Target))
	}
	if !transactional {
		b.WriteString(" transactional=false")
	}
	fmt.Fprintf(&b, " description=%s\n", quote("imported from "+opt.From+" "+from))
	return b.String()
}

func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"=") {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// importMigrate pairs N_name.up.sql with N_name.down.sql. golang-migrate
// sends each file to the database whole, so the converted file holds the
// same text, which the target then runs statement by statement.
func importMigrate(fsys fs.FS, entries []fs.DirEntry, opt Options) ([]File, []Problem, error) {
	type pair struct{ version, name, up, down string }
	pairs := map[string]*pair{}
	var problems []Problem
	for _, e := range entries {
		m := migrateName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		key := m[1] + "_" + m[2]
		p := pairs[key]
		if p == nil {
			p = &pair{version: m[1], name: m[2]}
			pairs[key] = p
		}
		if m[3] == "up" {
			p.up = e.Name()
		} else {
			p.down = e.Name()
		}
	}
	var out []File
	for _, key := range slices.Sorted(maps.Keys(pairs)) {
		p := pairs[key]
		if p.up == "" {
			problems = append(problems, Problem{File: p.down, Msg: "a down migration without its up migration: nothing to apply, not converted"})
			continue
		}
		up, err := fs.ReadFile(fsys, p.up)
		if err != nil {
			return nil, nil, err
		}
		stmts, err := sqlscript.Split(string(up), opt.Dialect)
		if err != nil {
			problems = append(problems, Problem{File: p.up, Msg: fmt.Sprintf("cannot be split as %v: %v", opt.Dialect, err)})
			continue
		}
		var b strings.Builder
		b.WriteString(header(opt, p.up, p.version, p.name, !outsideTx(stmts, opt.Dialect)))
		b.WriteString(withNewline(string(up)))
		from := []string{p.up}
		if p.down != "" {
			down, err := fs.ReadFile(fsys, p.down)
			if err != nil {
				return nil, nil, err
			}
			if _, err := sqlscript.Split(string(down), opt.Dialect); err != nil {
				problems = append(problems, Problem{File: p.down, Msg: fmt.Sprintf("cannot be split as %v: %v", opt.Dialect, err)})
				continue
			}
			b.WriteString(sqlscript.RollbackMarker + "\n")
			b.WriteString(withNewline(string(down)))
			from = append(from, p.down)
		}
		if msg := checkMarkers(b.String()); msg != "" {
			problems = append(problems, Problem{File: p.up, Msg: msg})
			continue
		}
		out = append(out, File{Name: p.version + "_" + p.name + ".sql", Content: b.String(), From: from})
	}
	return out, problems, nil
}

// noTxStatement matches PostgreSQL statements that refuse to run inside a
// transaction block.
var noTxStatement = regexp.MustCompile(`(?is)^(CREATE|DROP|REINDEX)\b.*\bCONCURRENTLY\b|^(CREATE|DROP)\s+(DATABASE|TABLESPACE)\b|^VACUUM\b|^ALTER\s+SYSTEM\b`)

// outsideTx reports whether a golang-migrate file must run outside a
// transaction, as golang-migrate runs it (it sends the file as it is; a
// single statement runs on its own): PostgreSQL's CREATE INDEX
// CONCURRENTLY and the like. Everything else is imported transactional,
// which is safer than golang-migrate's own handling.
func outsideTx(stmts []sqlscript.Statement, d sqlscript.Dialect) bool {
	if d != sqlscript.PostgreSQL {
		return false
	}
	for _, s := range stmts {
		if noTxStatement.MatchString(s.SQL) {
			return true
		}
	}
	return false
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

// checkMarkers refuses source text that holds flamingock directive lines
// of its own: they would change how the converted file is read.
func checkMarkers(content string) string {
	_, _, errs := sqlscript.ParseChangeFile(content)
	if len(errs) > 0 {
		return fmt.Sprintf("the migration holds a line the converted file would read as a flamingock directive (%v); edit it first", errs[0])
	}
	return ""
}

// sortedFiles is entries' file names matching re, by name.
func sortedFiles(entries []fs.DirEntry, re *regexp.Regexp) []string {
	var names []string
	for _, e := range entries {
		if !e.IsDir() && re.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

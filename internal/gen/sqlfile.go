package gen

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/sqlscript"
)

// SQLSource is the file of a change written in SQL.
type SQLSource struct {
	// Name is the file's name in its package directory, as the generated
	// file embeds it.
	Name string
	// HasRollback says the file has a rollback section.
	HasRollback bool
}

// sqlChanges reads the .sql files of the package directory and returns
// the changes they declare. A .sql file declares a change when its header
// carries "-- flamingock:change ..."; the directive is parsed by the
// annotations parser, like a Go change's, and every problem is reported at
// its file:line:col. Files whose names start with "." or "_" are ignored,
// as the go command ignores such Go files.
func (k *checker) sqlChanges(dir string) []*Change {
	entries, err := os.ReadDir(dir)
	if err != nil {
		k.c.errorf(token.Position{Filename: dir}, "reading the package directory for SQL changes: %v", err)
		return nil
	}
	var out []*Change
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			continue
		}
		path := filepath.Join(dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			k.c.errorf(token.Position{Filename: path}, "reading SQL change file: %v", err)
			continue
		}
		if ch := k.sqlChange(path, string(src)); ch != nil {
			out = append(out, ch)
		}
	}
	return out
}

// sqlChange returns the change path declares, or nil when it declares none
// or its header cannot be read.
func (k *checker) sqlChange(path, src string) *Change {
	name := filepath.Base(path)
	if !validEmbedName(name) {
		if strings.Contains(src, "flamingock:") {
			k.c.errorf(token.Position{Filename: path, Line: 1, Column: 1}, "SQL change file name %q cannot be embedded: use letters, digits, '.', '-' and '_' only", name)
		}
		return nil
	}
	f, ok, errs := sqlscript.ParseChangeFile(src)
	for _, e := range errs {
		k.c.errorf(sqlPos(path, src, e.Line, e.Col), "%s", e.Msg)
	}
	if !ok || len(errs) > 0 {
		return nil
	}
	d, _, perrs := annotations.Parse(f.Directive)
	// An offset o into the rewritten directive ("//flamingock:...") is
	// at column DirectiveCol+o-2 of the file.
	at := func(off int) token.Position { return sqlPos(path, src, f.DirectiveLine, f.DirectiveCol+off-2) }
	for _, e := range perrs {
		k.c.errorf(at(e.Offset), "%s", e.Msg)
	}
	if len(perrs) > 0 || d.Kind != annotations.KindChange {
		return nil
	}
	spec := d.Change
	keyPos := func(key string) token.Position {
		if off, ok := spec.Keys[key]; ok {
			return at(off)
		}
		return at(2)
	}
	ch := &Change{
		ID:            spec.ID,
		Author:        spec.Author,
		Description:   spec.Description,
		Target:        spec.Target,
		Transactional: spec.Transactional,
		Recovery:      cmp.Or(spec.Recovery, annotations.RecoveryManual),
		File:          k.moduleRelative(path),
		Line:          f.DirectiveLine,
		Pos:           at(2),
		IDPos:         keyPos(annotations.KeyID),
		OrderPos:      keyPos(annotations.KeyOrder),
		SQL:           &SQLSource{Name: name, HasRollback: f.Rollback != nil},
		Checksum:      sqlChecksum(f),
	}
	who := fmt.Sprintf("change %q: ", spec.ID)
	fromName, named := annotations.OrderFromFileName(name)
	switch {
	case spec.Order != "" && named && annotations.CompareOrders(spec.Order, fromName) != 0:
		k.c.errorf(ch.OrderPos, "%sorder=%s differs from order %s in the file name %s; remove one or make them agree", who, spec.Order, fromName, name)
	case spec.Order != "":
		ch.Order = spec.Order
	case named:
		ch.Order = fromName
	default:
		k.c.errorf(ch.Pos, "%sno order: add order=<n> to the directive or name the file with an order prefix, as in 0001_%s", who, name)
	}
	return ch
}

// sqlPos is the position of line:col in a file whose content is src, with
// its byte offset (changes are ordered by position within a file).
func sqlPos(path, src string, line, col int) token.Position {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return token.Position{Filename: path, Line: line, Column: col, Offset: off + col - 1}
}

// validEmbedName reports whether a //go:embed line can name the file
// without quoting, and the go command will embed it.
func validEmbedName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	})
}

// sqlChecksum is "sha256:<hex>" of the file's normalised SQL: the apply and
// rollback sections with line endings made \n, trailing spaces removed and
// blank lines dropped. The header (comments and the directive) is not
// part of it, as a Go change's doc comment is not; any other edit of an
// applied file, comments in the SQL included, is drift.
func sqlChecksum(f sqlscript.ChangeFile) string {
	h := sha256.New()
	write := func(tag string, sec sqlscript.Section) {
		h.Write([]byte(tag))
		for line := range strings.SplitSeq(sec.SQL, "\n") {
			line = strings.TrimRight(line, " \t\r")
			if line == "" {
				continue
			}
			h.Write([]byte(line))
			h.Write([]byte{'\n'})
		}
	}
	write("apply\x00", f.Apply)
	if f.Rollback != nil {
		write("\x00rollback\x00", *f.Rollback)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// embedFiles returns the names of the SQL files of p's changes, sorted.
func embedFiles(p *Package) []string {
	var names []string
	for _, ch := range p.Changes {
		if ch.SQL != nil {
			names = append(names, ch.SQL.Name)
		}
	}
	slices.Sort(names)
	return names
}

// sqlValue is the runtime.Func of an SQL change: a runtime.SQLFile over
// the embedded file, its rollback section when rollback is set.
func (e *emitter) sqlValue(ch *Change, rollback bool) jen.Code {
	fields := []jen.Code{
		jen.Id("FS").Op(":").Op("&").Id(e.sqlFS),
		jen.Id("Name").Op(":").Lit(ch.SQL.Name),
		jen.Id("Path").Op(":").Lit(ch.File),
	}
	if rollback {
		fields = append(fields, jen.Id("Rollback").Op(":").True())
	}
	return jen.Qual(RuntimePath, "SQLFile").Values(fields...)
}

// embedVar writes the embed.FS that holds the package's SQL change files,
// when it has any.
func (e *emitter) embedVar(f *jen.File, p *Package) {
	names := embedFiles(p)
	if len(names) == 0 {
		return
	}
	f.Line()
	comment(f, e.sqlFS+" holds the SQL files of the changes written in SQL.")
	f.Comment("//go:embed " + strings.Join(names, " "))
	f.Var().Id(e.sqlFS).Qual("embed", "FS")
}

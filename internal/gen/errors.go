package gen

import (
	"cmp"
	"fmt"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
)

// Diagnostic is one problem that stops generation: where it is and what is
// wrong.
type Diagnostic struct {
	// Pos is where the problem is; Filename is absolute. A zero Pos means
	// the problem has no place in source (a package that failed to load
	// for want of files, say).
	Pos token.Position
	Msg string
}

// Format returns the diagnostic as "file:line:col: message", the file
// relative to dir when it lies below it.
func (d Diagnostic) Format(dir string) string {
	if !d.Pos.IsValid() && d.Pos.Filename == "" {
		return d.Msg
	}
	return formatPos(d.Pos, dir) + ": " + d.Msg
}

// formatPos writes a position as file:line:col, relative to dir.
func formatPos(p token.Position, dir string) string {
	s := relPath(p.Filename, dir)
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	return s
}

// relPath returns path relative to dir when it is below dir, else path
// unchanged.
func relPath(path, dir string) string {
	if dir == "" || !filepath.IsAbs(path) {
		return path
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil || !filepath.IsLocal(rel) {
		return path
	}
	return rel
}

// collector gathers every problem, so one run reports them all instead of
// stopping at the first (the way wire's errorCollector does).
type collector struct {
	dir   string // positions inside messages are written relative to it
	diags []Diagnostic
}

func (c *collector) errorf(pos token.Position, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// at formats a position for use inside a message ("also declared at ...").
func (c *collector) at(pos token.Position) string { return formatPos(pos, c.dir) }

// sorted returns the diagnostics ordered by file, line and column, so
// output does not depend on the order packages were checked in.
func (c *collector) sorted() []Diagnostic {
	out := slices.Clone(c.diags)
	slices.SortStableFunc(out, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
		)
	})
	// The same problem can reach the collector twice (the go command and
	// the type checker both report a package's type errors).
	return slices.Compact(out)
}

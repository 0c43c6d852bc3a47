package sqlscript

import (
	"strings"
)

// ChangeFile is an SQL file that declares a change: a header comment with
// the change directive, the statements that apply it and, after an
// optional rollback marker line, the statements that undo it.
//
//	-- Adds the status column.
//	-- flamingock:change id=add-status author=ana target=app-db
//	ALTER TABLE orders ADD COLUMN status text;
//	-- flamingock:rollback
//	ALTER TABLE orders DROP COLUMN status;
type ChangeFile struct {
	// Directive is the change directive rewritten as a Go directive
	// comment ("//flamingock:change id=..."), for the annotations parser,
	// which parses Go and SQL changes alike. DirectiveLine and
	// DirectiveCol are where its "flamingock:" starts in the file, so an
	// offset o into Directive is at column DirectiveCol+o-2.
	Directive                   string
	DirectiveLine, DirectiveCol int
	Apply                       Section
	// Rollback is nil when the file has no rollback marker.
	Rollback *Section
}

// Section is a run of whole lines of a change file.
type Section struct {
	SQL string
	// Line is the 1-based line of the file on which SQL begins.
	Line int
}

// RollbackMarker is the line that starts a change file's rollback section.
const RollbackMarker = "-- flamingock:rollback"

// ParseChangeFile splits an SQL change file into its directive and
// sections. ok is false when the file declares no change: its header (the
// blank and -- comment lines before the first statement) holds no
// directive and no other line looks like one. Every misplaced or unknown
// directive line is reported.
func ParseChangeFile(src string) (f ChangeFile, ok bool, errs []*SyntaxError) {
	type line struct {
		text      string
		start, no int
	}
	var lines []line
	for off, no := 0, 1; off < len(src); no++ {
		end := strings.IndexByte(src[off:], '\n')
		if end < 0 {
			end = len(src) - off
		} else {
			end++
		}
		lines = append(lines, line{src[off : off+end], off, no})
		off += end
	}
	inHeader := true
	applyFrom, rollbackFrom := -1, -1
	for i, l := range lines {
		text := strings.TrimRight(l.text, "\r\n")
		trimmed := strings.TrimLeft(text, " \t")
		col, verb, isDirective := directiveIn(text)
		switch {
		case isDirective && verb == "change" && inHeader && applyFrom < 0:
			f.Directive = "//" + strings.TrimRight(text[col-1:], " \t")
			f.DirectiveLine, f.DirectiveCol = l.no, col
			applyFrom = i + 1
			inHeader = false
		case isDirective && verb == "rollback" && applyFrom >= 0 && rollbackFrom < 0:
			if strings.TrimSpace(text) != RollbackMarker {
				errs = append(errs, &SyntaxError{l.no, col, "the rollback marker is the line " + RollbackMarker + " with nothing else: the rollback belongs to this file's change"})
			}
			rollbackFrom = i + 1
		case isDirective && verb == "rollback" && applyFrom >= 0:
			errs = append(errs, &SyntaxError{l.no, col, "a second rollback marker; a change file has at most one rollback section"})
		case isDirective && verb == "change" && applyFrom >= 0:
			errs = append(errs, &SyntaxError{l.no, col, "a second change directive; an SQL file declares one change"})
		case isDirective && verb == "change":
			errs = append(errs, &SyntaxError{l.no, col, "the change directive must be in the file's header, before any statement"})
		case isDirective && verb == "rollback":
			errs = append(errs, &SyntaxError{l.no, col, "rollback marker before the change directive"})
		case isDirective:
			errs = append(errs, &SyntaxError{l.no, col, "unknown directive flamingock:" + verb + "; SQL files use -- flamingock:change and " + RollbackMarker})
		case inHeader && trimmed != "" && !strings.HasPrefix(trimmed, "--"):
			inHeader = false
		}
	}
	if applyFrom < 0 {
		return ChangeFile{}, len(errs) > 0, errs
	}
	section := func(from, to int) Section {
		if from >= len(lines) {
			return Section{Line: len(lines) + 1}
		}
		end := len(src)
		if to < len(lines) {
			end = lines[to].start
		}
		return Section{SQL: src[lines[from].start:end], Line: lines[from].no}
	}
	if rollbackFrom < 0 {
		f.Apply = section(applyFrom, len(lines))
	} else {
		f.Apply = section(applyFrom, rollbackFrom-1)
		r := section(rollbackFrom, len(lines))
		f.Rollback = &r
	}
	return f, true, errs
}

// directiveIn reports whether line is a "-- flamingock:<verb>" comment
// line, with the 1-based column of "flamingock:".
func directiveIn(line string) (col int, verb string, ok bool) {
	rest := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(rest, "--") {
		return 0, "", false
	}
	afterDashes := strings.TrimLeft(rest[2:], " \t")
	const prefix = "flamingock:"
	if !strings.HasPrefix(afterDashes, prefix) {
		return 0, "", false
	}
	col = len(line) - len(afterDashes) + 1
	verb = afterDashes[len(prefix):]
	if i := strings.IndexAny(verb, " \t\r"); i >= 0 {
		verb = verb[:i]
	}
	return col, verb, true
}

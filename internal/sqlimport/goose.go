package sqlimport

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/flamingock/flamingock-go/sqlscript"
)

// gooseSection is the up or down part of a goose migration: the lines to
// write, and the statements goose would execute from them.
type gooseSection struct {
	lines []string
	stmts []string
	line  int // where the section's annotation is, 0 when absent
}

// importGoose converts goose SQL migrations; Go migrations are reported.
func importGoose(fsys fs.FS, entries []fs.DirEntry, opt Options) ([]File, []Problem, error) {
	var out []File
	var problems []Problem
	for _, name := range sortedFiles(entries, gooseName) {
		m := gooseName.FindStringSubmatch(name)
		if m[3] == "go" {
			problems = append(problems, Problem{File: name, Msg: "a goose Go migration: write it as a flamingock Go change (a //flamingock:change function) by hand; it was not converted"})
			continue
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, err
		}
		up, down, transactional, perr := parseGoose(name, string(src))
		if perr != nil {
			problems = append(problems, *perr)
			continue
		}
		var b strings.Builder
		b.WriteString(header(opt, name, m[1], m[2], transactional))
		upText, err := render(up, opt.Dialect)
		if err == nil && down.line > 0 {
			var downText string
			downText, err = render(down, opt.Dialect)
			upText += sqlscript.RollbackMarker + "\n" + downText
		}
		if err != nil {
			problems = append(problems, Problem{File: name, Msg: err.Error()})
			continue
		}
		b.WriteString(upText)
		if msg := checkMarkers(b.String()); msg != "" {
			problems = append(problems, Problem{File: name, Msg: msg})
			continue
		}
		out = append(out, File{Name: m[1] + "_" + m[2] + ".sql", Content: b.String(), From: []string{name}})
	}
	return out, problems, nil
}

// parseGoose reads goose's annotations: "-- +goose Up", "Down",
// "StatementBegin", "StatementEnd" and "NO TRANSACTION". Statements are
// what goose sends: the lines up to one ending in ";" (comment lines
// aside), or a StatementBegin/End block whole.
func parseGoose(name, src string) (up, down gooseSection, transactional bool, problem *Problem) {
	transactional = true
	var cur *gooseSection
	inBlock := false
	var buf []string
	flush := func() {
		if s := strings.TrimSpace(strings.Join(buf, "\n")); s != "" {
			cur.stmts = append(cur.stmts, s)
		}
		buf = nil
	}
	for i, line := range strings.Split(src, "\n") {
		no := i + 1
		trimmed := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(trimmed, "-- +goose "); ok {
			switch strings.ToLower(strings.TrimSpace(rest)) {
			case "up":
				cur = &up
				up.line = no
			case "down":
				if cur != nil {
					flush()
				}
				cur = &down
				down.line = no
			case "statementbegin":
				if cur == nil {
					return up, down, false, &Problem{name, no, "StatementBegin before -- +goose Up"}
				}
				flush()
				inBlock = true
			case "statementend":
				if !inBlock {
					return up, down, false, &Problem{name, no, "StatementEnd without StatementBegin"}
				}
				flush()
				inBlock = false
				cur.lines = append(cur.lines, blockEnd)
			case "no transaction":
				transactional = false
			default:
				return up, down, false, &Problem{name, no, fmt.Sprintf("goose annotation %q is not supported by the importer (ENVSUB and others): convert this file by hand", trimmed)}
			}
			if strings.EqualFold(strings.TrimSpace(rest), "statementbegin") {
				cur.lines = append(cur.lines, blockStart)
			}
			continue
		}
		if cur == nil {
			if trimmed != "" && !strings.HasPrefix(trimmed, "--") {
				return up, down, false, &Problem{name, no, "a statement before -- +goose Up"}
			}
			continue
		}
		cur.lines = append(cur.lines, line)
		if strings.HasPrefix(trimmed, "--") && !inBlock {
			continue // goose drops comment lines between statements
		}
		buf = append(buf, line)
		if !inBlock && strings.HasSuffix(trimmed, ";") {
			flush()
		}
	}
	if inBlock {
		return up, down, false, &Problem{name, 0, "StatementBegin without StatementEnd"}
	}
	if cur != nil {
		flush()
	}
	if up.line == 0 {
		return up, down, false, &Problem{name, 0, "no -- +goose Up annotation"}
	}
	return up, down, transactional, nil
}

// Markers standing for StatementBegin/End in a section's lines until it is
// rendered.
const (
	blockStart = "\x00begin"
	blockEnd   = "\x00end"
)

// render writes a section's lines for the flamingock splitter, and checks
// that it finds the statements goose would have executed. Blocks are kept
// as they are, except in MySQL, where the mysql client's DELIMITER command
// keeps a block with semicolons together.
func render(sec gooseSection, d sqlscript.Dialect) (string, error) {
	var b strings.Builder
	for _, l := range sec.lines {
		switch l {
		case blockStart:
			if d == sqlscript.MySQL {
				b.WriteString("DELIMITER $$\n")
			}
		case blockEnd:
			if d == sqlscript.MySQL {
				b.WriteString("$$\nDELIMITER ;\n")
			}
		default:
			b.WriteString(l + "\n")
		}
	}
	text := strings.TrimRight(b.String(), "\n") + "\n"
	if strings.TrimSpace(text) == "" {
		text = ""
	}
	got, err := sqlscript.Split(text, d)
	if err != nil {
		return "", fmt.Errorf("cannot be split as %v: %v", d, err)
	}
	// Each goose statement must be one splitter statement or, for a
	// StatementBegin/End block that holds several, consecutive ones that
	// together are its text: the same SQL, sent one statement at a time.
	j := 0
	for i, g := range sec.stmts {
		want, acc := squash(g), ""
		for acc != want && j < len(got) && len(acc) < len(want) {
			if acc != "" {
				acc += ";"
			}
			acc += squash(got[j].SQL)
			j++
		}
		if acc != want {
			return "", fmt.Errorf("statement %d of the section at line %d is split differently as %v (goose would run it as one statement:\n\t%s\n): wrap multi-statement bodies in -- +goose StatementBegin/End and import again", i+1, sec.line, d, g)
		}
	}
	if j != len(got) {
		return "", fmt.Errorf("the %v splitter finds %d statements in the section at line %d where goose runs %d", d, len(got), sec.line, len(sec.stmts))
	}
	return text, nil
}

// squash is normalise without any whitespace: statements compare by their
// text, whatever the line breaks between the parts of a block.
func squash(s string) string {
	return strings.Join(strings.Fields(normalise(s)), "")
}

// normalise drops comment lines, a final ";" and surrounding space, so
// goose's statement and the splitter's compare by their SQL.
func normalise(s string) string {
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, t)
		}
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.Join(lines, "\n"), ";"))
}

package sqlscript

import (
	"strings"
	"testing"
)

// FuzzSplit checks, on any input and every dialect, that Split never
// panics, that each statement is the script's own text at its offset and
// line, in order and without overlap, and that no text other than
// whitespace, comments, delimiters and DELIMITER commands is left out of
// the statements.
func FuzzSplit(f *testing.F) {
	for _, seed := range []string{
		"SELECT 1; SELECT 2",
		"CREATE FUNCTION f() AS $b$ SELECT 1; $b$; SELECT E'\\';' ;",
		"/* a /* b */ ; */ SELECT \"x;\";",
		"DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\n",
		"CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; END; SELECT 3;",
		"SELECT 'a\\'; # c;\n-- d;\nSELECT `e;`",
		"BEGIN ATOMIC SELECT 1; END; SELECT [a;b]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, d := range []Dialect{PostgreSQL, MySQL, SQLite} {
			stmts, err := Split(src, d)
			if err != nil {
				continue
			}
			var toks []token
			var again []Statement
			if err := scan(src, d, func(tk token) { toks = append(toks, tk) }, func(s Statement) { again = append(again, s) }); err != nil {
				t.Fatalf("%v: scan failed where Split did not: %v", d, err)
			}
			if len(again) != len(stmts) {
				t.Fatalf("%v: scan gave %d statements, Split %d", d, len(again), len(stmts))
			}
			prevEnd := 0
			for _, s := range stmts {
				if s.Offset < prevEnd || s.Offset+len(s.SQL) > len(src) || src[s.Offset:s.Offset+len(s.SQL)] != s.SQL {
					t.Fatalf("%v: statement %q at %d is not the script's text after %d", d, s.SQL, s.Offset, prevEnd)
				}
				if s.SQL == "" || isSpace(s.SQL[0]) || isSpace(s.SQL[len(s.SQL)-1]) {
					t.Fatalf("%v: statement %q is empty or not trimmed", d, s.SQL)
				}
				if want := 1 + strings.Count(src[:s.Offset], "\n"); s.Line != want {
					t.Fatalf("%v: statement %q on line %d, want %d", d, s.SQL, s.Line, want)
				}
				prevEnd = s.Offset + len(s.SQL)
			}
			// Tokens tile the script, and every token that carries
			// text lies inside a statement.
			at := 0
			for _, tk := range toks {
				if tk.start != at || tk.end <= tk.start {
					t.Fatalf("%v: token %+v does not follow offset %d", d, tk, at)
				}
				at = tk.end
				switch tk.kind {
				case tokSpace, tokComment, tokDelimiter, tokCommand:
					continue
				}
				if !inside(stmts, tk) {
					t.Fatalf("%v: text %q at %d is in no statement", d, src[tk.start:tk.end], tk.start)
				}
			}
			if at != len(src) {
				t.Fatalf("%v: tokens end at %d of %d", d, at, len(src))
			}
		}
	})
}

func inside(stmts []Statement, tk token) bool {
	for _, s := range stmts {
		if tk.start >= s.Offset && tk.end <= s.Offset+len(s.SQL) {
			return true
		}
	}
	return false
}

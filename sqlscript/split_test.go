package sqlscript

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// stmt is a statement as the tables below expect it: its text and line.
type stmt struct {
	SQL  string
	Line int
}

func split(t *testing.T, src string, d Dialect) []stmt {
	t.Helper()
	got, err := Split(src, d)
	if err != nil {
		t.Fatalf("Split(%v): %v", d, err)
	}
	var out []stmt
	for _, s := range got {
		if src[s.Offset:s.Offset+len(s.SQL)] != s.SQL {
			t.Fatalf("statement %q is not the script's text at offset %d", s.SQL, s.Offset)
		}
		if want := 1 + strings.Count(src[:s.Offset], "\n"); s.Line != want {
			t.Fatalf("statement %q: line %d, want %d", s.SQL, s.Line, want)
		}
		out = append(out, stmt{s.SQL, s.Line})
	}
	return out
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		src     string
		want    []stmt
	}{
		{"plain", PostgreSQL, "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n", []stmt{{"CREATE TABLE a (id int)", 1}, {"INSERT INTO a VALUES (1)", 2}}},
		{"no final delimiter", PostgreSQL, "SELECT 1;\n\nSELECT 2", []stmt{{"SELECT 1", 1}, {"SELECT 2", 3}}},
		{"only comments and empty statements", PostgreSQL, "-- nothing\n;;\n/* here */ ;\n", nil},
		{"comments around a statement are not part of it", PostgreSQL, "-- first\n/* second */\nSELECT 1 -- trailing\n;", []stmt{{"SELECT 1", 3}}},
		{"pg standard string keeps backslash", PostgreSQL, `SELECT 'a\'; SELECT 'it''s';`, []stmt{{`SELECT 'a\'`, 1}, {`SELECT 'it''s'`, 1}}},
		{"pg E string escapes", PostgreSQL, `SELECT E'a\';b'; SELECT e'\\'; SELECT 1`, []stmt{{`SELECT E'a\';b'`, 1}, {`SELECT e'\\'`, 1}, {"SELECT 1", 1}}},
		{"pg identifier ending in e is no E string", PostgreSQL, `SELECT some'x\'; SELECT 2`, []stmt{{`SELECT some'x\'`, 1}, {"SELECT 2", 1}}},
		{"pg quoted identifier", PostgreSQL, `CREATE TABLE "a;""b" (x int); SELECT 1`, []stmt{{`CREATE TABLE "a;""b" (x int)`, 1}, {"SELECT 1", 1}}},
		{"pg nested comments", PostgreSQL, "SELECT 1 /* a /* b; */ c; */; SELECT /* x; */ 2", []stmt{{"SELECT 1", 1}, {"SELECT /* x; */ 2", 1}}},
		{"pg dollar body", PostgreSQL, "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT f();",
			[]stmt{{"CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql", 1}, {"SELECT f()", 6}}},
		{"pg tagged dollar bodies nest", PostgreSQL, "DO $outer$ BEGIN EXECUTE $in$ SELECT 1; $in$; END $outer$; SELECT 2",
			[]stmt{{"DO $outer$ BEGIN EXECUTE $in$ SELECT 1; $in$; END $outer$", 1}, {"SELECT 2", 1}}},
		{"pg dollar in identifier and params", PostgreSQL, "SELECT a$b$ FROM t WHERE x = $1; SELECT $2", []stmt{{"SELECT a$b$ FROM t WHERE x = $1", 1}, {"SELECT $2", 1}}},
		{"pg begin atomic", PostgreSQL, "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END;\nSELECT 3;",
			[]stmt{{"CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END", 1}, {"SELECT 3", 2}}},
		{"pg transaction begin is a statement", PostgreSQL, "BEGIN; SELECT 1; COMMIT;", []stmt{{"BEGIN", 1}, {"SELECT 1", 1}, {"COMMIT", 1}}},
		{"pg hash is not a comment", PostgreSQL, "SELECT 1 # 2; SELECT 3", []stmt{{"SELECT 1 # 2", 1}, {"SELECT 3", 1}}},
		{"mysql backslash escapes", MySQL, `INSERT INTO t VALUES ('a\';b', "c\";d"); SELECT 1`, []stmt{{`INSERT INTO t VALUES ('a\';b', "c\";d")`, 1}, {"SELECT 1", 1}}},
		{"mysql comments", MySQL, "# hash; comment\nSELECT 1; -- dash; comment\nSELECT 2--1;\nSELECT `a;``b`;", []stmt{{"SELECT 1", 2}, {"SELECT 2--1", 3}, {"SELECT `a;``b`", 4}}},
		{"mysql delimiter block", MySQL, "CREATE TABLE t (x int);\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (1);\n  SELECT 1;\nEND //\nDELIMITER ;\nCALL p();\n",
			[]stmt{{"CREATE TABLE t (x int)", 1}, {"CREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (1);\n  SELECT 1;\nEND", 3}, {"CALL p()", 9}}},
		{"mysql delimiter $$ and lowercase", MySQL, "delimiter $$\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.x = 1; END$$\ndelimiter ;\nSELECT 1;",
			[]stmt{{"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.x = 1; END", 2}, {"SELECT 1", 4}}},
		{"mysql DELIMITER inside a statement is text", MySQL, "SELECT\nDELIMITER FROM t;", []stmt{{"SELECT\nDELIMITER FROM t", 1}}},
		{"sqlite trigger", SQLite, "CREATE TABLE t (x);\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = CASE WHEN x > 1 THEN 1 ELSE 0 END;\n  DELETE FROM t WHERE x = 2;\nEND;\nINSERT INTO t VALUES (1);",
			[]stmt{{"CREATE TABLE t (x)", 1}, {"CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = CASE WHEN x > 1 THEN 1 ELSE 0 END;\n  DELETE FROM t WHERE x = 2;\nEND", 2}, {"INSERT INTO t VALUES (1)", 6}}},
		{"sqlite temp trigger", SQLite, "create temp trigger tr after delete on t begin select 1; end; select 2;",
			[]stmt{{"create temp trigger tr after delete on t begin select 1; end", 1}, {"select 2", 1}}},
		{"sqlite begin transaction is a statement", SQLite, "BEGIN; SELECT 1; END;", []stmt{{"BEGIN", 1}, {"SELECT 1", 1}, {"END", 1}}},
		{"sqlite identifiers", SQLite, "SELECT [a;b], `c;d`, \"e;f\"; SELECT 'g;h'", []stmt{{"SELECT [a;b], `c;d`, \"e;f\"", 1}, {"SELECT 'g;h'", 1}}},
		{"sqlite backslash is plain", SQLite, `SELECT 'a\'; SELECT 2`, []stmt{{`SELECT 'a\'`, 1}, {"SELECT 2", 1}}},
		{"crlf lines", SQLite, "SELECT 1;\r\nSELECT 2;\r\n", []stmt{{"SELECT 1", 1}, {"SELECT 2", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := split(t, tt.src, tt.dialect)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%v)\n got: %+v\nwant: %+v", tt.dialect, got, tt.want)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		src     string
		want    string
	}{
		{"pg unterminated string", PostgreSQL, "SELECT 1;\nSELECT 'abc", "2:8: unterminated string literal"},
		{"pg unterminated E string", PostgreSQL, `SELECT E'a\'`, "1:8: unterminated E'' string literal"},
		{"pg unterminated dollar", PostgreSQL, "SELECT 1;\n  DO $body$ BEGIN END $bod$;", "2:6: unterminated dollar-quoted body: no closing $body$"},
		{"pg unterminated nested comment", PostgreSQL, "/* a /* b */ c", "1:1: unterminated /* comment"},
		{"pg unterminated identifier", PostgreSQL, `SELECT "a`, "1:8: unterminated quoted identifier"},
		{"mysql unterminated after escape", MySQL, `SELECT 'a\'`, "1:8: unterminated string literal"},
		{"mysql empty delimiter", MySQL, "DELIMITER \nSELECT 1", `1:1: DELIMITER needs exactly one delimiter on its line, got "DELIMITER"`},
		{"mysql quoted delimiter", MySQL, "DELIMITER ';'", `1:1: DELIMITER "';'": a delimiter may not contain quotes or backslashes`},
		{"sqlite bracket", SQLite, "SELECT [a", "1:8: unterminated [quoted identifier]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(tt.src, tt.dialect)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Split: got %v, want a *SyntaxError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
	if _, err := Split("SELECT 1", Dialect(0)); err == nil {
		t.Error("Split with an unknown dialect returned no error")
	}
}

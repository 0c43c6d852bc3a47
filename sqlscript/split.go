package sqlscript

import (
	"fmt"
	"strings"
)

// Dialect is the SQL dialect a script is split in.
type Dialect int

// The dialects Split understands.
const (
	PostgreSQL Dialect = iota + 1
	MySQL              // MySQL and MariaDB
	SQLite
)

func (d Dialect) String() string {
	switch d {
	case PostgreSQL:
		return "postgresql"
	case MySQL:
		return "mysql"
	case SQLite:
		return "sqlite"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Statement is one statement of a script.
type Statement struct {
	// SQL is the statement's text as written, from its first token to the
	// end of its last, without the delimiter that ends it. Comments before
	// the first token are not part of it; comments inside it are.
	SQL string
	// Offset is the byte offset of SQL in the script.
	Offset int
	// Line is the 1-based line of the script on which the statement starts.
	Line int
}

// SyntaxError is a script that cannot be split: an unterminated string,
// quoted identifier, comment or dollar-quoted body, or a bad DELIMITER
// command. Line and Col (1-based, Col in bytes) point at where the
// unterminated construct starts.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Split returns the statements of script in order. Statements that hold
// only comments and whitespace are left out. A statement not ended by a
// delimiter at the end of the script is returned too.
func Split(script string, d Dialect) ([]Statement, error) {
	switch d {
	case PostgreSQL, MySQL, SQLite:
	default:
		return nil, fmt.Errorf("sqlscript: unknown dialect %v", d)
	}
	var out []Statement
	err := scan(script, d, func(t token) {}, func(s Statement) { out = append(out, s) })
	return out, err
}

// tokenKind tells apart what the scanner finds.
type tokenKind int

const (
	tokSpace tokenKind = iota
	tokComment
	tokWord      // identifier or keyword
	tokQuoted    // string, quoted identifier or dollar-quoted body
	tokDelimiter // the current statement delimiter
	tokCommand   // a client command line (MySQL DELIMITER)
	tokOther     // any other byte
)

type token struct {
	kind       tokenKind
	start, end int
}

// scanner walks a script once. Tokens are reported to onToken (the tests
// use them to check that splitting keeps every non-comment byte) and
// statements to onStmt.
type scanner struct {
	src     string
	dialect Dialect
	pos     int
	// line is the current 1-based line, lineStart the offset it begins at.
	line, lineStart int

	delimiter string // MySQL's current delimiter; ";" otherwise

	// The statement being read: start is the offset of its first token
	// (-1 before it), end the end of its last non-space token.
	start, end, startLine int
	words                 []string // its first keywords, upper-cased
	prevWord              string
	// depth counts the open BEGIN/CASE blocks of a body whose semicolons do
	// not end the statement (SQLite trigger bodies, PostgreSQL BEGIN ATOMIC).
	depth int
}

func scan(src string, d Dialect, onToken func(token), onStmt func(Statement)) error {
	s := &scanner{src: src, dialect: d, line: 1, delimiter: ";", start: -1}
	flush := func() {
		if s.start >= 0 {
			onStmt(Statement{SQL: s.src[s.start:s.end], Offset: s.start, Line: s.startLine})
		}
		s.start, s.words, s.prevWord, s.depth = -1, s.words[:0], "", 0
	}
	for s.pos < len(src) {
		startPos, startLine, startCol := s.pos, s.line, s.pos-s.lineStart+1
		kind, err := s.next()
		if err != nil {
			return &SyntaxError{Line: startLine, Col: startCol, Msg: err.Error()}
		}
		onToken(token{kind: kind, start: startPos, end: s.pos})
		switch kind {
		case tokSpace, tokComment:
			continue
		case tokDelimiter:
			flush()
			continue
		case tokCommand:
			continue
		}
		if s.start < 0 {
			s.start, s.startLine = startPos, startLine
		}
		s.end = s.pos
		if kind == tokWord {
			s.word(strings.ToUpper(src[startPos:s.pos]))
		}
	}
	flush()
	return nil
}

// word tracks the keywords that open and close bodies whose semicolons
// belong to the statement.
func (s *scanner) word(w string) {
	if len(s.words) < 4 {
		s.words = append(s.words, w)
	}
	prev := s.prevWord
	s.prevWord = w
	switch s.dialect {
	case SQLite:
		if s.depth == 0 {
			if w == "BEGIN" && s.isTrigger() {
				s.depth = 1
			}
			return
		}
	case PostgreSQL:
		if s.depth == 0 {
			if w == "ATOMIC" && prev == "BEGIN" {
				s.depth = 1
			}
			return
		}
	default:
		return
	}
	switch w {
	case "CASE":
		s.depth++
	case "END":
		s.depth--
	}
}

// isTrigger reports whether the statement began CREATE [TEMP|TEMPORARY] TRIGGER.
func (s *scanner) isTrigger() bool {
	w := s.words
	if len(w) < 2 || w[0] != "CREATE" {
		return false
	}
	if w[1] == "TEMP" || w[1] == "TEMPORARY" {
		return len(w) >= 3 && w[2] == "TRIGGER"
	}
	return w[1] == "TRIGGER"
}

func (s *scanner) peek(i int) byte {
	if s.pos+i < len(s.src) {
		return s.src[s.pos+i]
	}
	return 0
}

// advance moves to offset to, counting lines.
func (s *scanner) advance(to int) {
	for i := s.pos; i < to; i++ {
		if s.src[i] == '\n' {
			s.line++
			s.lineStart = i + 1
		}
	}
	s.pos = to
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordPart(c byte, d Dialect) bool {
	return isWordStart(c) || c >= '0' && c <= '9' || c == '$' && d != SQLite
}

// next reads one token at s.pos.
func (s *scanner) next() (tokenKind, error) {
	c := s.src[s.pos]
	if s.dialect == MySQL && s.atLineStart() && s.start < 0 {
		if ok, err := s.delimiterCommand(); ok || err != nil {
			return tokCommand, err
		}
	}
	if s.depth == 0 && strings.HasPrefix(s.src[s.pos:], s.delimiter) {
		s.advance(s.pos + len(s.delimiter))
		return tokDelimiter, nil
	}
	switch {
	case isSpace(c):
		i := s.pos
		for i < len(s.src) && isSpace(s.src[i]) {
			i++
		}
		s.advance(i)
		return tokSpace, nil
	case c == '-' && s.peek(1) == '-' && (s.dialect != MySQL || isSpace(s.peek(2)) || s.peek(2) == 0 || s.peek(2) < ' '),
		c == '#' && s.dialect == MySQL:
		i := strings.IndexByte(s.src[s.pos:], '\n')
		if i < 0 {
			s.advance(len(s.src))
		} else {
			s.advance(s.pos + i)
		}
		return tokComment, nil
	case c == '/' && s.peek(1) == '*':
		return tokComment, s.blockComment()
	case c == '\'':
		return tokQuoted, s.quoted('\'', s.dialect == MySQL, "string literal")
	case c == '"':
		if s.dialect == MySQL {
			return tokQuoted, s.quoted('"', true, "string literal")
		}
		return tokQuoted, s.quoted('"', false, "quoted identifier")
	case c == '`' && s.dialect != PostgreSQL:
		return tokQuoted, s.quoted('`', false, "quoted identifier")
	case c == '[' && s.dialect == SQLite:
		i := strings.IndexByte(s.src[s.pos:], ']')
		if i < 0 {
			return tokQuoted, fmt.Errorf("unterminated [quoted identifier]")
		}
		s.advance(s.pos + i + 1)
		return tokQuoted, nil
	case c == '$' && s.dialect == PostgreSQL:
		if ok, err := s.dollarQuoted(); ok || err != nil {
			return tokQuoted, err
		}
	case isWordStart(c):
		i := s.pos + 1
		// The mysql client sees its delimiter anywhere outside quotes,
		// even glued to a word (END$$).
		for i < len(s.src) && isWordPart(s.src[i], s.dialect) && !strings.HasPrefix(s.src[i:], s.delimiter) {
			i++
		}
		if s.dialect == PostgreSQL && i == s.pos+1 && (c == 'E' || c == 'e') && i < len(s.src) && s.src[i] == '\'' {
			s.advance(i)
			return tokQuoted, s.quoted('\'', true, "E'' string literal")
		}
		s.advance(i)
		return tokWord, nil
	}
	s.advance(s.pos + 1)
	return tokOther, nil
}

func (s *scanner) atLineStart() bool {
	for i := s.pos - 1; i >= 0; i-- {
		switch s.src[i] {
		case '\n':
			return true
		case ' ', '\t', '\r':
			continue
		}
		return false
	}
	return true
}

// delimiterCommand reads a MySQL client "DELIMITER x" line at s.pos.
func (s *scanner) delimiterCommand() (bool, error) {
	const kw = "DELIMITER"
	rest := s.src[s.pos:]
	if len(rest) <= len(kw) || !strings.EqualFold(rest[:len(kw)], kw) || (rest[len(kw)] != ' ' && rest[len(kw)] != '\t') {
		return false, nil
	}
	line := rest
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
	}
	fields := strings.Fields(line[len(kw):])
	if len(fields) != 1 {
		return true, fmt.Errorf("DELIMITER needs exactly one delimiter on its line, got %q", strings.TrimSpace(line))
	}
	if strings.ContainsAny(fields[0], `\'"`+"`") {
		return true, fmt.Errorf("DELIMITER %q: a delimiter may not contain quotes or backslashes", fields[0])
	}
	s.delimiter = fields[0]
	s.advance(s.pos + len(line))
	return true, nil
}

// blockComment reads a /* */ comment, nested in PostgreSQL.
func (s *scanner) blockComment() error {
	depth := 0
	i := s.pos
	for i < len(s.src) {
		switch {
		case strings.HasPrefix(s.src[i:], "/*"):
			if depth == 0 || s.dialect == PostgreSQL {
				depth++
			}
			i += 2
		case strings.HasPrefix(s.src[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				s.advance(i)
				return nil
			}
		default:
			i++
		}
	}
	return fmt.Errorf("unterminated /* comment")
}

// quoted reads a literal closed by q, where a doubled q stands for itself
// and, when backslash is set, \ escapes the next byte.
func (s *scanner) quoted(q byte, backslash bool, what string) error {
	i := s.pos + 1
	for i < len(s.src) {
		c := s.src[i]
		switch {
		case backslash && c == '\\':
			i += 2
		case c == q:
			if i+1 < len(s.src) && s.src[i+1] == q {
				i += 2
				continue
			}
			s.advance(i + 1)
			return nil
		default:
			i++
		}
	}
	return fmt.Errorf("unterminated %s", what)
}

// dollarQuoted reads a PostgreSQL $tag$ ... $tag$ body at s.pos. A $ that
// does not open one ($1, a lone $) is reported as not a body.
func (s *scanner) dollarQuoted() (bool, error) {
	i := s.pos + 1
	if i < len(s.src) && s.src[i] != '$' {
		if !isWordStart(s.src[i]) {
			return false, nil
		}
		for i < len(s.src) && (isWordStart(s.src[i]) || s.src[i] >= '0' && s.src[i] <= '9') {
			i++
		}
	}
	if i >= len(s.src) || s.src[i] != '$' {
		return false, nil
	}
	tag := s.src[s.pos : i+1]
	end := strings.Index(s.src[i+1:], tag)
	if end < 0 {
		return true, fmt.Errorf("unterminated dollar-quoted body: no closing %s", tag)
	}
	s.advance(i + 1 + end + len(tag))
	return true, nil
}

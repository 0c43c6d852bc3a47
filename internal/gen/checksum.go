package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"go/ast"
	"go/printer"
	"go/scanner"
	"go/token"
	"hash"
	"io"
	"os"
)

// checksum returns "sha256:<hex>" of the normalised source of a change's
// apply and rollback functions (rollback may be nil).
//
// Each declaration (from the func keyword, so without its doc comment) is
// reduced to its token sequence: layout (indentation, line breaks, blank
// lines, trailing commas) and comments do not change the checksum, while
// any change to names, types, literals or statements does.
//
// The tokens are scanned from the file's bytes when read can supply them
// (the fast path), else from the declaration printed by go/printer without
// comments; both give the same sequence.
func checksum(fset *token.FileSet, read func(filename string) []byte, apply, rollback *ast.FuncDecl) string {
	h := sha256.New()
	io.WriteString(h, "apply\n")
	writeTokens(h, fset, read, apply)
	if rollback != nil {
		io.WriteString(h, "rollback\n")
		writeTokens(h, fset, read, rollback)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Checksum returns the checksum flamingock-gen records for a change whose
// functions are apply and rollback (nil when it has none), reading their
// source from the files on disk: the analyzer compares it with the
// registry's, as -check does.
func Checksum(fset *token.FileSet, apply, rollback *ast.FuncDecl) string {
	return checksum(fset, readSource, apply, rollback)
}

// readSource reads a source file; nil when it cannot be read.
func readSource(name string) []byte {
	src, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	return src
}

// writeTokens writes the canonical tokens of fn (see [tokenWriter]) to h,
// one per line.
func writeTokens(h hash.Hash, fset *token.FileSet, read func(string) []byte, fn *ast.FuncDecl) {
	if fn == nil {
		return
	}
	var w tokenWriter
	h.Write(w.canonical(declSource(fset, read, fn)))
}

// declSource returns the source of fn from its func keyword to its end,
// read at the real offsets of the file on disk (never those of a //line
// directive, which would cut the wrong bytes).
func declSource(fset *token.FileSet, read func(string) []byte, fn *ast.FuncDecl) []byte {
	if read != nil {
		start, end := fset.PositionFor(fn.Pos(), false), fset.PositionFor(fn.End(), false)
		if src := read(start.Filename); src != nil && start.Filename == end.Filename && end.Offset <= len(src) && start.Offset < end.Offset {
			return src[start.Offset:end.Offset]
		}
	}
	bare := *fn
	bare.Doc = nil
	var buf bytes.Buffer
	if err := printer.Fprint(&buf, fset, &bare); err != nil {
		// The declaration came from a successful parse; printing it
		// cannot fail short of a printer bug. Hash what we have.
		buf.WriteString(err.Error())
	}
	return buf.Bytes()
}

// tokenWriter scans Go source and writes its tokens, one per line, with
// layout removed: statement separators are kept, whether written as ";"
// or as a line break, except where they are redundant (before a closing
// bracket, or repeated), and a trailing comma before a closing bracket is
// dropped. A token is written as its kind, followed by a space and its
// text for identifiers, literals and keywords' kin (whatever the scanner
// gives a literal for).
//
// It streams: the only tokens that a later one can remove are trailing
// separators (";" and ","), so those wait in pending until the next token
// decides, and everything else goes straight to the output. The output is
// what the checksums of the audit trail were first computed from, so it
// must not change (TestTokenWriterMatchesReference).
type tokenWriter struct {
	out     []byte
	pending []token.Token // trailing separators not yet written
	last    token.Token   // last token written (token.ILLEGAL: none)
}

// canonical returns the canonical token lines of src.
func (w *tokenWriter) canonical(src []byte) []byte {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0) // mode 0: comments are skipped
	w.out = w.out[:0]
	w.pending = w.pending[:0]
	w.last = token.ILLEGAL
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		switch tok {
		case token.RPAREN, token.RBRACE, token.RBRACK:
			w.pending = w.pending[:0]
		case token.SEMICOLON:
			last := w.last
			if n := len(w.pending); n > 0 {
				last = w.pending[n-1]
			}
			if last == token.ILLEGAL || last == token.SEMICOLON || last == token.LBRACE || last == token.LPAREN {
				continue
			}
			w.pending = append(w.pending, token.SEMICOLON)
			continue
		case token.COMMA:
			w.pending = append(w.pending, token.COMMA)
			continue
		}
		w.flush()
		w.out = append(w.out, tok.String()...)
		if lit != "" {
			w.out = append(w.out, ' ')
			w.out = append(w.out, lit...)
		}
		w.out = append(w.out, '\n')
		w.last = tok
	}
	for n := len(w.pending); n > 0 && w.pending[n-1] == token.SEMICOLON; n-- {
		w.pending = w.pending[:n-1]
	}
	w.flush()
	return w.out
}

// flush writes the pending separators.
func (w *tokenWriter) flush() {
	for _, sep := range w.pending {
		w.out = append(w.out, sep.String()...)
		w.out = append(w.out, '\n')
		w.last = sep
	}
	w.pending = w.pending[:0]
}

// fingerprint returns "sha256:<hex>" over the ordered (id, order,
// checksum) list of a stage: it changes when a change is added, removed,
// reordered or edited.
func fingerprint(changes []*Change) string {
	h := sha256.New()
	for _, ch := range changes {
		io.WriteString(h, ch.ID)
		h.Write([]byte{0})
		io.WriteString(h, ch.Order)
		h.Write([]byte{0})
		io.WriteString(h, ch.Checksum)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

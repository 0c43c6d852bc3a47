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

// writeTokens writes one token per line to h.
func writeTokens(h hash.Hash, fset *token.FileSet, read func(string) []byte, fn *ast.FuncDecl) {
	if fn == nil {
		return
	}
	toks := canonicalTokens(declSource(fset, read, fn))
	for _, t := range toks {
		io.WriteString(h, t)
		h.Write([]byte{'\n'})
	}
}

// declSource returns the source of fn from its func keyword to its end.
func declSource(fset *token.FileSet, read func(string) []byte, fn *ast.FuncDecl) []byte {
	if read != nil {
		start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
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

// canonicalTokens scans Go source and returns its tokens with layout
// removed: statement separators are kept, whether written as ";" or as a
// line break, except where they are redundant (before a closing bracket,
// or repeated), and a trailing comma before a closing bracket is dropped.
func canonicalTokens(src []byte) []string {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0) // mode 0: comments are skipped
	var out []string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		switch tok {
		case token.RPAREN, token.RBRACE, token.RBRACK:
			for len(out) > 0 && (out[len(out)-1] == ";" || out[len(out)-1] == ",") {
				out = out[:len(out)-1]
			}
		case token.SEMICOLON:
			if len(out) == 0 || out[len(out)-1] == ";" || out[len(out)-1] == "{" || out[len(out)-1] == "(" {
				continue
			}
			out = append(out, ";")
			continue
		}
		if lit != "" && tok != token.SEMICOLON {
			out = append(out, tok.String()+" "+lit)
		} else {
			out = append(out, tok.String())
		}
	}
	for len(out) > 0 && out[len(out)-1] == ";" {
		out = out[:len(out)-1]
	}
	return out
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

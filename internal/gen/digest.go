package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"go/types"
	"io"
	"slices"
	"strconv"
)

// emitVersion identifies the layout [emit] writes. It is part of every
// digest, so a file written by a generator that laid files out differently
// is never taken for current. Bump it whenever emit's output for the same
// model changes; TestEmitVersionPinned fails until you do.
const emitVersion = 4

// digestPrefix starts the second line of every generated file.
const digestPrefix = "// flamingock-gen digest: sha256:"

// The digest line lets a run tell that a generated file is current without
// rendering it. Its value is the SHA-256 of the model's digest
// ([modelDigest]: everything emit reads) followed by the bytes of the file
// after the digest line. When the generator finds, in the file on disk,
// the value that the current model and the file's own remaining bytes
// give, the file is what emit would write (emit is deterministic in the
// model), so the run skips rendering: an unchanged package costs loading
// it plus hashing. An edit to the model changes the model digest; an edit
// to the file below the line changes the hash of its bytes; either makes
// the value differ, and the file is rendered and compared as usual.

// withDigest returns the generated file: the header, the digest line and
// body.
func withDigest(model [sha256.Size]byte, body []byte) []byte {
	sum := fileDigest(model, body)
	out := make([]byte, 0, len(Header)+len(digestPrefix)+2*sha256.Size+2+len(body))
	out = append(out, Header...)
	out = append(out, '\n')
	out = append(out, digestPrefix...)
	out = hex.AppendEncode(out, sum[:])
	out = append(out, '\n')
	return append(out, body...)
}

func fileDigest(model [sha256.Size]byte, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(model[:])
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// isCurrent reports whether have, a file on disk, carries the digest that
// model and have's own bytes below the digest line give: then it is
// exactly the file emit would write for that model.
func isCurrent(have []byte, model [sha256.Size]byte) bool {
	header, rest, ok := bytes.Cut(have, []byte("\n"))
	if !ok || string(header) != Header {
		return false
	}
	line, body, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return false
	}
	value, ok := bytes.CutPrefix(line, []byte(digestPrefix))
	if !ok || len(value) != 2*sha256.Size {
		return false
	}
	var recorded [sha256.Size]byte
	if _, err := hex.Decode(recorded[:], value); err != nil {
		return false
	}
	return recorded == fileDigest(model, body)
}

// modelDigest hashes everything emit reads from p, in a fixed order and
// unambiguous encoding (each string length-prefixed), with emitVersion.
// Types are written with full import paths, so a dependency type that
// moves to another package changes the digest even when its package keeps
// its name.
func modelDigest(p *Package) [sha256.Size]byte {
	h := sha256.New()
	w := digestWriter{w: h}
	w.int(emitVersion)
	w.str(p.Path)
	w.str(p.Name)
	w.str(p.Fingerprint)
	// The names the file must not reuse decide its local, import and
	// adapter names.
	declared := make([]string, 0, len(p.Declared))
	for name := range p.Declared {
		declared = append(declared, name)
	}
	slices.Sort(declared)
	w.int(len(declared))
	for _, name := range declared {
		w.str(name)
	}
	qualifier := func(pkg *types.Package) string {
		if pkg.Path() == p.Path {
			return ""
		}
		// The package name too: it is the import's preferred local name.
		return pkg.Path() + "#" + pkg.Name()
	}
	w.int(len(p.Changes))
	for _, ch := range p.Changes {
		for _, s := range []string{ch.ID, ch.Order, ch.Author, ch.Description, ch.Target, strconv.FormatBool(ch.Transactional), ch.Recovery, ch.Checksum, ch.File} {
			w.str(s)
		}
		w.int(ch.Line)
		w.int(len(ch.Needs))
		for _, t := range ch.Needs {
			w.str(types.TypeString(t, qualifier))
		}
		for _, fn := range []*Func{ch.Apply, ch.Rollback} {
			if fn == nil {
				w.int(-1)
				continue
			}
			w.str(fn.Name)
			w.int(len(fn.Params))
			for _, t := range fn.Params {
				w.str(types.TypeString(t, qualifier))
			}
		}
		if ch.SQL != nil {
			w.str(ch.SQL.Name)
			w.str(strconv.FormatBool(ch.SQL.HasRollback))
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// digestWriter writes length-prefixed strings and integers to a hash.
type digestWriter struct {
	w   io.Writer
	buf []byte
}

func (d *digestWriter) int(n int) {
	d.buf = strconv.AppendInt(d.buf[:0], int64(n), 10)
	d.buf = append(d.buf, ';')
	d.w.Write(d.buf)
}

func (d *digestWriter) str(s string) {
	d.int(len(s))
	io.WriteString(d.w, s)
}

package annotations

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// lookalikes maps characters that look like (or hide as) the ASCII
// punctuation of a directive to that punctuation and a name for messages.
// They arrive by copying a directive from a web page, a chat or a word
// processor, and are otherwise invisible in an editor.
var lookalikes = map[rune]struct{ ascii, name string }{
	'\u00a0': {" ", "no-break space"},
	'\u1680': {" ", "ogham space mark"},
	'\u2000': {" ", "en quad"},
	'\u2001': {" ", "em quad"},
	'\u2002': {" ", "en space"},
	'\u2003': {" ", "em space"},
	'\u2004': {" ", "three-per-em space"},
	'\u2005': {" ", "four-per-em space"},
	'\u2006': {" ", "six-per-em space"},
	'\u2007': {" ", "figure space"},
	'\u2008': {" ", "punctuation space"},
	'\u2009': {" ", "thin space"},
	'\u200a': {" ", "hair space"},
	'\u200b': {"", "zero-width space"},
	'\u200c': {"", "zero-width non-joiner"},
	'\u200d': {"", "zero-width joiner"},
	'\u2060': {"", "word joiner"},
	'\u202f': {" ", "narrow no-break space"},
	'\u205f': {" ", "medium mathematical space"},
	'\u3000': {" ", "ideographic space"},
	'\ufeff': {"", "zero-width no-break space"},
	'\uff1a': {":", "full-width colon"},
	'\uff1d': {"=", "full-width equals sign"},
	'\u201c': {`"`, "left double quotation mark"},
	'\u201d': {`"`, "right double quotation mark"},
}

// lookalikeFix says how to replace the look-alike character r.
func lookalikeFix(r rune) string {
	l := lookalikes[r]
	if l.ascii == "" {
		return fmt.Sprintf("delete the invisible U+%04X (%s)", r, l.name)
	}
	return fmt.Sprintf("replace U+%04X (%s) with %q", r, l.name, l.ascii)
}

// firstLookalike returns the offset and rune of the first look-alike
// character of s outside double-quoted text, or -1.
func firstLookalike(s string) (int, rune) {
	quoted := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && quoted:
			size++ // skip the escaped byte
		case r == '"':
			quoted = !quoted
		case !quoted:
			if _, ok := lookalikes[r]; ok {
				return i, r
			}
		}
		i += size
	}
	return -1, 0
}

// replaceLookalikes returns s with every look-alike character replaced by
// its ASCII form, and the first one replaced (0 when none was).
func replaceLookalikes(s string) (string, rune) {
	var first rune
	clean := strings.Map(func(r rune) rune {
		l, ok := lookalikes[r]
		if !ok {
			return r
		}
		if first == 0 {
			first = r
		}
		if l.ascii == "" {
			return -1
		}
		return rune(l.ascii[0])
	}, s)
	return clean, first
}

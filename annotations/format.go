package annotations

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format renders d in canonical form: keys in the order of [ChangeKeys],
// values quoted only when they need it, and keys left out when they hold
// their default (empty text, transactional=true, recovery=manual). For every
// directive [Parse] accepts without errors, Parse(Format(d)) yields d again,
// apart from the key offsets in [ChangeSpec.Keys]. Format returns "" for a
// directive of unknown kind.
func Format(d Directive) string {
	var b strings.Builder
	switch d.Kind {
	case KindChange:
		c := d.Change
		b.WriteString(Prefix + "change")
		writePair(&b, KeyID, c.ID, true)
		writePair(&b, KeyOrder, c.Order, false)
		writePair(&b, KeyAuthor, c.Author, false)
		writePair(&b, KeyTarget, c.Target, false)
		if !c.Transactional {
			writePair(&b, KeyTransactional, "false", false)
		}
		if c.Recovery != RecoveryManual {
			writePair(&b, KeyRecovery, c.Recovery, false)
		}
		writePair(&b, KeyDescription, c.Description, false)
	case KindRollback:
		b.WriteString(Prefix + "rollback ")
		b.WriteString(formatValue(d.Rollback.ID))
	}
	return b.String()
}

// writePair writes " key=value", skipping an empty value unless required.
func writePair(b *strings.Builder, key, value string, required bool) {
	if value == "" && !required {
		return
	}
	b.WriteByte(' ')
	b.WriteString(key)
	b.WriteByte('=')
	b.WriteString(formatValue(value))
}

// formatValue writes value bare when Parse reads it back unchanged and it
// is plain to read; otherwise as a Go string literal.
func formatValue(value string) string {
	if needsQuotes(value) {
		return strconv.Quote(value)
	}
	return value
}

func needsQuotes(value string) bool {
	if value == "" || !utf8.ValidString(value) {
		return true
	}
	for _, r := range value {
		if _, lookalike := lookalikes[r]; lookalike || r == '"' || r == '=' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

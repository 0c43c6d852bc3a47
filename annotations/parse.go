package annotations

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Change directive keys, in the canonical order [Format] writes them.
const (
	KeyID            = "id"
	KeyOrder         = "order"
	KeyAuthor        = "author"
	KeyTarget        = "target"
	KeyTransactional = "transactional"
	KeyRecovery      = "recovery"
	KeyDescription   = "description"
)

// ChangeKeys lists the keys a change directive accepts, in canonical order.
var ChangeKeys = []string{KeyID, KeyOrder, KeyAuthor, KeyTarget, KeyTransactional, KeyRecovery, KeyDescription}

// verbs lists the directive names that may follow [Prefix].
var verbs = []string{"change", "rollback"}

// Parse parses one comment: the full text of an ast.Comment, including the
// leading "//".
//
// ok is false when the comment is not a flamingock directive at all, that
// is when it does not start with [Prefix]; errs is nil then, and
// [LikelyTypo] tells whether the comment looks like a misspelt directive.
//
// When ok is true, errs lists every problem found, ordered by offset, and d
// holds what could be parsed: values that failed validation are left at
// their defaults. A directive is usable only when errs is empty.
func Parse(comment string) (d Directive, ok bool, errs []*Error) {
	if !strings.HasPrefix(comment, Prefix) {
		return Directive{}, false, nil
	}
	p := &parser{text: comment, pos: len(Prefix)}
	if at, r := firstLookalike(comment); at >= 0 {
		// Parsing on would report what the character breaks (a value
		// swallowing the next key, say), not the character.
		p.errorf(at, "the directive contains an invisible or look-alike character: %s", lookalikeFix(r))
		return d, true, p.errs
	}
	p.directive(&d)
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Offset, b.Offset) })
	return d, true, p.errs
}

// parser walks one comment. pos only moves forward; every problem is
// recorded and parsing resumes at the next space, so one call reports them
// all.
type parser struct {
	text string
	pos  int
	errs []*Error
	// idWritten is set when the id key appears at all, even malformed,
	// so a broken "id" is not also reported as missing.
	idWritten bool
}

func (p *parser) errorf(offset int, format string, args ...any) {
	p.errs = append(p.errs, &Error{Offset: offset, Msg: fmt.Sprintf(format, args...)})
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (p *parser) atEnd() bool { return p.pos >= len(p.text) }

func (p *parser) skipSpace() {
	for !p.atEnd() && isSpace(p.text[p.pos]) {
		p.pos++
	}
}

// word consumes and returns the bytes up to the next space.
func (p *parser) word() string {
	start := p.pos
	for !p.atEnd() && !isSpace(p.text[p.pos]) {
		p.pos++
	}
	return p.text[start:p.pos]
}

func (p *parser) directive(d *Directive) {
	verbAt := p.pos
	verb := p.word()
	if verb == "" {
		p.skipSpace()
		if p.atEnd() {
			p.errorf(verbAt, `empty flamingock directive: write "//flamingock:change" or "//flamingock:rollback"`)
			return
		}
		verb = p.word()
		if !slices.Contains(verbs, verb) {
			p.errorf(verbAt, `expected "change" or "rollback" right after %q, found a space`, Prefix)
			return
		}
		// Report the space, then parse the rest as meant, so the user
		// sees every problem at once.
		p.errorf(verbAt, `unexpected space after %q: write "%s%s"`, Prefix, Prefix, verb)
	}
	switch verb {
	case "change":
		d.Kind = KindChange
		d.Change = p.change()
	case "rollback":
		d.Kind = KindRollback
		d.Rollback = p.rollback()
	default:
		p.unknownVerb(verbAt, verb)
	}
}

func (p *parser) unknownVerb(at int, verb string) {
	for _, v := range verbs {
		if strings.HasPrefix(verb, v) {
			p.errorf(at, `unknown flamingock directive %s (did you mean %q followed by a space?)`, shortQuote(verb), v)
			return
		}
	}
	if s, ok := closest(verb, verbs); ok {
		p.errorf(at, `unknown flamingock directive %s (did you mean %q?)`, shortQuote(verb), s)
		return
	}
	p.errorf(at, `unknown flamingock directive %s: want "change" or "rollback"`, shortQuote(verb))
}

func (p *parser) change() ChangeSpec {
	spec := ChangeSpec{Transactional: true, Recovery: RecoveryManual, Keys: map[string]int{}}
	items := 0
	for p.skipSpace(); !p.atEnd(); p.skipSpace() {
		items++
		p.item(&spec)
	}
	if items == 0 {
		p.errorf(0, `empty change directive: the key "id" is required, as in "//flamingock:change id=create-users"`)
	} else if !p.idWritten {
		p.errorf(0, `change directive is missing the required key "id"`)
	}
	return spec
}

// item parses one key=value pair.
func (p *parser) item(spec *ChangeSpec) {
	keyAt := p.pos
	for !p.atEnd() && !isSpace(p.text[p.pos]) && p.text[p.pos] != '=' {
		p.pos++
	}
	key := p.text[keyAt:p.pos]
	known := slices.Contains(ChangeKeys, key)
	p.idWritten = p.idWritten || key == KeyID
	if p.atEnd() || isSpace(p.text[p.pos]) {
		if known {
			p.errorf(p.pos, `missing "=" after key %q: write %s=<value>`, key, key)
		} else {
			p.errorf(keyAt, `expected key=value, found %s`, shortQuote(key))
		}
		return
	}
	p.pos++ // '='
	if key == "" {
		p.errorf(keyAt, `missing key before "="`)
		p.changeValue(`the value`)
		return
	}
	what := "key " + shortQuote(key)
	if !known {
		p.unknownKey(keyAt, key)
		p.changeValue(what)
		return
	}
	if _, dup := spec.Keys[key]; dup {
		p.errorf(keyAt, `duplicate key %q in change directive: each key may appear once`, key)
		p.changeValue(what)
		return
	}
	spec.Keys[key] = keyAt
	valueAt := p.pos
	if value, ok := p.changeValue(what); ok && p.validUTF8(value, valueAt, what) {
		p.assign(spec, key, value, valueAt)
	}
}

// validUTF8 reports whether value, read at offset at, is valid UTF-8, and
// records an error at the first bad byte when it is not: the values end up
// in audit stores, and PostgreSQL, for one, refuses invalid text. In a
// quoted value the bad byte may come from an escape (\xff), so the error
// points at the value.
func (p *parser) validUTF8(value string, at int, what string) bool {
	if utf8.ValidString(value) {
		return true
	}
	i := 0
	for i < len(value) {
		r, size := utf8.DecodeRuneInString(value[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		i += size
	}
	if p.text[at] == '"' {
		p.errorf(at, `the value for %s is not valid UTF-8 (byte %#02x after unquoting); values must be UTF-8 text`, what, value[i])
	} else {
		p.errorf(at+i, `invalid UTF-8 byte %#02x in the value for %s; values must be UTF-8 text`, value[i], what)
	}
	return false
}

func (p *parser) unknownKey(at int, key string) {
	if s, ok := closest(key, ChangeKeys); ok {
		p.errorf(at, `unknown key %s in change directive (did you mean %q?)`, shortQuote(key), s)
		return
	}
	p.errorf(at, `unknown key %s in change directive: known keys are %s`, shortQuote(key), strings.Join(ChangeKeys, ", "))
}

// changeValue parses the value after "key=". what names the value in
// messages.
func (p *parser) changeValue(what string) (string, bool) {
	at := p.pos
	if p.atEnd() || isSpace(p.text[p.pos]) {
		p.errorf(at, `missing value for %s`, what)
		return "", false
	}
	if p.text[at] == '"' {
		return p.quoted(what)
	}
	value := p.word()
	if i := strings.IndexByte(value, '"'); i >= 0 {
		p.errorf(at+i, `unexpected '"' in the value for %s: quote the whole value, as in key="some value"`, what)
		return "", false
	}
	if i := strings.IndexByte(value, '='); i >= 0 {
		p.errorf(at+i, `unexpected "=" in the value for %s: separate key=value pairs with a space, or quote a value that contains "="`, what)
		return "", false
	}
	return value, true
}

// quoted parses a double-quoted Go string literal starting at p.pos.
func (p *parser) quoted(what string) (string, bool) {
	at := p.pos
	end := at + 1
	for end < len(p.text) && p.text[end] != '"' {
		if p.text[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(p.text) {
		p.pos = len(p.text)
		p.errorf(at, `unterminated quoted value for %s: add the closing '"'`, what)
		return "", false
	}
	p.pos = end + 1
	lit := p.text[at:p.pos]
	for s := lit[1 : len(lit)-1]; s != ""; {
		_, _, tail, err := strconv.UnquoteChar(s, '"')
		if err != nil {
			p.errorf(at+len(lit)-1-len(s), `invalid escape sequence in the quoted value for %s`, what)
			p.skipToSpace(what)
			return "", false
		}
		s = tail
	}
	value, err := strconv.Unquote(lit)
	if err != nil { // unreachable: every character was checked above
		p.errorf(at, `invalid quoted value for %s`, what)
		return "", false
	}
	p.skipToSpace(what)
	return value, true
}

// skipToSpace reports text glued to the end of a quoted value.
func (p *parser) skipToSpace(what string) {
	if !p.atEnd() && !isSpace(p.text[p.pos]) {
		p.errorf(p.pos, `unexpected text after the quoted value for %s: separate key=value pairs with a space`, what)
		p.word()
	}
}

func (p *parser) assign(spec *ChangeSpec, key, value string, at int) {
	switch key {
	case KeyID:
		if err := ValidateID(value); err != nil {
			p.errorf(at, "%s", err)
			return
		}
		spec.ID = value
	case KeyOrder:
		if err := ValidateOrder(value); err != nil {
			p.errorf(at, "%s", err)
			return
		}
		spec.Order = value
	case KeyTransactional:
		switch value {
		case "true":
			spec.Transactional = true
		case "false":
			spec.Transactional = false
		default:
			p.errorf(at, `invalid value %s for key "transactional": want true or false`, shortQuote(value))
		}
	case KeyRecovery:
		if value != RecoveryManual && value != RecoveryRetry {
			p.errorf(at, `invalid value %s for key "recovery": want manual or retry`, shortQuote(value))
			return
		}
		spec.Recovery = value
	default: // author, target, description: free text
		if value == "" {
			p.errorf(at, `empty value for key %q: leave the key out instead`, key)
			return
		}
		switch key {
		case KeyAuthor:
			spec.Author = value
		case KeyTarget:
			spec.Target = value
		case KeyDescription:
			spec.Description = value
		}
	}
}

func (p *parser) rollback() RollbackSpec {
	var spec RollbackSpec
	p.skipSpace()
	if p.atEnd() {
		p.errorf(0, `rollback directive is missing the id of the change it undoes, as in "//flamingock:rollback create-users"`)
		return spec
	}
	at := p.pos
	var id string
	if p.text[at] == '"' {
		var ok bool
		if id, ok = p.quoted("the change id"); !ok {
			return spec
		}
	} else {
		id = p.word()
		if v, ok := strings.CutPrefix(id, KeyID+"="); ok {
			shown := v
			if shown == "" {
				shown = "<change-id>"
			}
			p.errorf(at, `rollback directive takes the change id alone: write "//flamingock:rollback %s", without "id="`, shown)
			id, at = v, at+len(KeyID)+1
		}
	}
	if err := ValidateID(id); err != nil {
		p.errorf(at, "%s", err)
	} else {
		spec = RollbackSpec{ID: id, IDOffset: at}
	}
	p.skipSpace()
	if !p.atEnd() {
		extraAt := p.pos
		p.errorf(extraAt, `unexpected %s after the change id: a rollback directive takes exactly one change id`, shortQuote(p.word()))
	}
	return spec
}

package annotations

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Length limits for ids and orders, in bytes. Ids and orders are stored as
// keys in every audit store, so they stay short and ASCII.
const (
	MaxIDLen    = 128
	MaxOrderLen = 64
)

// ValidateID reports whether id is a valid change id: it starts with an
// ASCII letter or digit, continues with ASCII letters, digits, '.', '_' or
// '-', and is at most [MaxIDLen] bytes long.
func ValidateID(id string) error {
	if reason := checkName(id, MaxIDLen); reason != "" {
		return errors.New(invalidMsg("id", id, reason))
	}
	return nil
}

// ValidateOrder reports whether order is a valid order: the same characters
// as an id (see [ValidateID]), at most [MaxOrderLen] bytes long.
func ValidateOrder(order string) error {
	if reason := checkName(order, MaxOrderLen); reason != "" {
		return errors.New(invalidMsg("order", order, reason))
	}
	return nil
}

func invalidMsg(what, value, reason string) string {
	if len(value) > maxQuoted {
		// The reason first: a long value would push it off the line.
		return fmt.Sprintf("invalid %s: %s; it starts %s", what, reason, shortQuote(value))
	}
	return fmt.Sprintf("invalid %s %q: %s", what, value, reason)
}

// maxQuoted is the longest text messages quote whole.
const maxQuoted = 40

// shortQuote quotes s for a message: whole when it is short, else its
// first bytes (cut at a rune boundary) followed by "...".
func shortQuote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := 32
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// checkName returns why s is not a valid id or order, or "" when it is.
func checkName(s string, max int) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > max {
		return fmt.Sprintf("is %d bytes long; the maximum is %d", len(s), max)
	}
	if !isAlnum(s[0]) {
		return fmt.Sprintf("must start with an ASCII letter or digit, not %s", quoteByte(s, 0))
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Sprintf("contains %s at byte %d; only ASCII letters, digits, '.', '_' and '-' are allowed", quoteByte(s, i), i)
		}
	}
	return ""
}

// quoteByte quotes the character starting at s[i] for an error message,
// whole when it is a valid multi-byte rune.
func quoteByte(s string, i int) string {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte %#02x", s[i])
	}
	return fmt.Sprintf("%q", r)
}

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// CompareOrders compares two orders naturally and returns -1, 0 or +1.
// Each order is split into runs of digits and runs of other bytes. Runs of
// digits compare as numbers, leading zeros ignored ("2" < "10", "0001" ==
// "1"); other runs compare bytewise; the first differing run decides, and
// an order that is a prefix of the other sorts first.
//
// 0 means the two orders collide: two changes of one stage may not have
// orders that compare equal, even when they are spelt differently.
func CompareOrders(a, b string) int {
	for a != "" && b != "" {
		var ra, rb string
		ra, a = nextRun(a)
		rb, b = nextRun(b)
		if c := compareRuns(ra, rb); c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// nextRun splits s after its leading run of digits or of non-digits.
func nextRun(s string) (run, rest string) {
	digit := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareRuns(a, b string) int {
	if !isDigit(a[0]) || !isDigit(b[0]) {
		// The first bytes differ, or both runs are non-digits: bytewise
		// order is consistent with numeric order of digit runs because
		// every digit run starts in '0'..'9'.
		return strings.Compare(a, b)
	}
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// OrderFromFileName derives an order from a file base name that starts with
// a run of digits followed by '_', such as "0001_create_users.go" ("0001").
// It returns false when the name has no such prefix, when the prefix is
// longer than [MaxOrderLen], and for names starting with '_' or '.', which
// the go tool ignores.
func OrderFromFileName(base string) (string, bool) {
	i := 0
	for i < len(base) && isDigit(base[i]) {
		i++
	}
	if i == 0 || i > MaxOrderLen || i == len(base) || base[i] != '_' {
		return "", false
	}
	return base[:i], true
}

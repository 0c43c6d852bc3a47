package annotations

import (
	"fmt"
	"strings"
)

// closest returns the candidate nearest to word, compared case-insensitively
// by edit distance (insertions, deletions, substitutions and swaps of two
// adjacent bytes each count one). It reports false when no candidate is
// within distance 2, or when reaching it would rewrite most of the
// candidate: "x" suggests nothing rather than "id".
func closest(word string, candidates []string) (string, bool) {
	word = strings.ToLower(word)
	best, bestDist := "", 3
	for _, c := range candidates {
		if len(word) > len(c)+2 || len(c) > len(word)+2 {
			continue // the distance is at least the length difference
		}
		d := editDistance(word, c)
		if d < bestDist && d < len(c) {
			best, bestDist = c, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance between a and b.
func editDistance(a, b string) int {
	// Three rows suffice: the swap case looks two rows back.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// LikelyTypo reports whether a comment that [Parse] did not recognise
// (ok == false) looks like a misspelt directive, and returns a hint that
// says what to fix. It recognises a space after "//" ("// flamingock:change"),
// a missing colon ("//flamingock change"), capitals ("//Flamingock:change"),
// a misspelt "flamingock" ("//flamingok:change", within edit distance 2)
// and block comments ("/* flamingock:change */").
//
// Prose that merely mentions flamingock is not a typo: after a space or in a
// block comment, the words after the verb must read like directive
// arguments, or be absent: "flamingock:change id=x", "flamingock: change
// id=x" (what gofmt makes of "//flamingock: change id=x") and "flamingock
// change id=x" are typos, "flamingock:rollback is how we undo it" is prose.
// Change arguments hold key=value text; rollback arguments are one id.
//
// A line comment whose text after "//" starts with a tab is never a typo:
// gofmt writes the lines of a code block in a doc comment that way, and a
// code block that shows a directive is an example, not a misspelt
// directive. Nor is prose that quotes a correctly spelt directive after a
// space, "// //flamingock:change directives are ...", which is also how a
// directive is deliberately commented out.
func LikelyTypo(comment string) (hint string, typo bool) {
	if strings.HasPrefix(comment, Prefix) || strings.HasPrefix(comment, "//\t") {
		return "", false
	}
	if clean, r := replaceLookalikes(comment); r != 0 {
		// "//flamingock\uff1achange": a directive but for a character
		// that looks right; the hint names it.
		if strings.HasPrefix(clean, Prefix) {
			return typoLead + lookalikeFix(r), true
		}
		if hint, typo := LikelyTypo(clean); typo {
			return hint + "; " + lookalikeFix(r), true
		}
		return "", false
	}
	if quoted, ok := strings.CutPrefix(comment, "// "); ok && strings.HasPrefix(strings.TrimLeft(quoted, " "), Prefix) {
		return "", false
	}
	var body string
	block := false
	switch {
	case strings.HasPrefix(comment, "//"):
		body = comment[2:]
	case strings.HasPrefix(comment, "/*"):
		body, block = strings.TrimSuffix(comment[2:], "*/"), true
	default:
		return "", false
	}
	trimmed := strings.TrimLeft(body, " \t/*")
	spaced := !block && trimmed != body
	n := 0
	for n < len(trimmed) && isLetter(trimmed[n]) {
		n++
	}
	word, rest := trimmed[:n], trimmed[n:]
	if n < 8 || n > 12 || editDistance(strings.ToLower(word), "flamingock") > 2 {
		return "", false
	}
	prose := spaced || block
	var verb, args string
	var fixes []string
	if block {
		fixes = append(fixes, `use a line comment, not /* */`)
	}
	if spaced {
		fixes = append(fixes, `remove the space after "//"`)
	}
	switch {
	case word == "flamingock":
	case strings.ToLower(word) == "flamingock":
		fixes = append(fixes, `write "flamingock" in lowercase`)
	default:
		fixes = append(fixes, `spell it "flamingock"`)
	}
	if after, ok := strings.CutPrefix(rest, ":"); ok {
		if prose && (after == "" || !isLetter(after[0])) {
			// gofmt turns "//flamingock: change id=x" (a space after the
			// colon, itself an error) into this ordinary comment; it is a
			// directive when what follows reads like one.
			if after == "" || !isSpace(after[0]) || !looksLikeArgs(cutWord(after)) {
				return "", false
			}
			fixes = append(fixes, `remove the space after ":"`)
		}
		verb, args = cutWord(after)
		if prose && args != "" && !looksLikeArgs(verb, args) {
			// "// flamingock:rollback is how we undo it": prose that
			// names a directive, not one with a stray space.
			return "", false
		}
	} else {
		if rest == "" || !isSpace(rest[0]) {
			return "", false
		}
		verb, args = cutWord(rest)
		lower := strings.ToLower(verb)
		if lower != "change" && lower != "rollback" {
			return "", false
		}
		if prose && !looksLikeArgs(verb, args) {
			return "", false
		}
		fixes = append(fixes, `put ":" right after "flamingock"`)
	}
	suggestion := Prefix + strings.ToLower(verb)
	if args != "" {
		suggestion += " ..."
	}
	return typoLead + strings.Join(fixes, "; ") + fmt.Sprintf(" (write %q)", suggestion), true
}

// typoLead starts every hint of [LikelyTypo].
const typoLead = "looks like a flamingock directive but is an ordinary comment, so it is ignored: "

// looksLikeArgs reports whether verb and args read like a directive rather
// than prose: "change" with key=value text, or "rollback" with one id.
func looksLikeArgs(verb, args string) bool {
	switch strings.ToLower(verb) {
	case "change":
		return strings.Contains(args, "=")
	case "rollback":
		return args != "" && !strings.ContainsAny(args, " \t")
	}
	return false
}

// cutWord returns the first space-separated word of s and what follows it,
// both without surrounding spaces.
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// RewriteTypo returns the directive a comment that [LikelyTypo] flags was
// meant to be: "// flamingock:change" and "//Flamingock:change" become
// "//flamingock:change", "//flamingock change" gains its colon. ok is
// false when the result would not be a directive at all, and for block
// comments, whose delimiters are left to the user.
func RewriteTypo(text string) (fixed string, ok bool) {
	if !strings.HasPrefix(text, "//") {
		return "", false
	}
	body := strings.TrimLeft(text[2:], " \t/")
	n := 0
	for n < len(body) && isLetter(body[n]) {
		n++
	}
	rest := body[n:]
	switch {
	case strings.HasPrefix(rest, ":"):
		fixed = Prefix + strings.TrimLeft(rest[1:], " ")
	case strings.HasPrefix(rest, " "):
		fixed = Prefix + strings.TrimLeft(rest, " ")
	default:
		return "", false
	}
	_, ok, _ = Parse(fixed)
	return fixed, ok
}

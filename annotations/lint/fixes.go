package lint

import (
	"fmt"
	"go/ast"
	"regexp"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"golang.org/x/tools/go/analysis"
)

// The parser's messages carry its suggestions; these patterns read them
// back, so the analyzer offers exactly what the parser proposed and keeps
// no second list of keys or verbs. Every fix is applied only after the
// text it replaces has been checked, and the tests pin each pattern.
var (
	didYouMean      = regexp.MustCompile(`\(did you mean "([a-z]+)"\?\)$`)
	didYouMeanSpace = regexp.MustCompile(`\(did you mean "([a-z]+)" followed by a space\?\)$`)
)

// parseFixes returns the mechanical fix for a parser error, if it has one.
func parseFixes(cm *ast.Comment, e *annotations.Error) []analysis.SuggestedFix {
	text := cm.Text
	if e.Offset < 0 || e.Offset > len(text) {
		return nil
	}
	word := wordAt(text, e.Offset)
	switch {
	case strings.HasPrefix(e.Msg, `unexpected space after "`+annotations.Prefix+`"`):
		end := e.Offset
		for end < len(text) && (text[end] == ' ' || text[end] == '\t') {
			end++
		}
		return fix(fmt.Sprintf("Remove the space after %q", annotations.Prefix), textEdit(cm, e.Offset, end, ""))
	case didYouMean.MatchString(e.Msg):
		want := didYouMean.FindStringSubmatch(e.Msg)[1]
		if word == "" || !strings.Contains(e.Msg, fmt.Sprintf("%q", word)) {
			return nil
		}
		return fix(fmt.Sprintf("Replace %q with %q", word, want), textEdit(cm, e.Offset, e.Offset+len(word), want))
	case didYouMeanSpace.MatchString(e.Msg):
		verb := didYouMeanSpace.FindStringSubmatch(e.Msg)[1]
		if !strings.HasPrefix(text[e.Offset:], verb) {
			return nil
		}
		at := e.Offset + len(verb)
		return fix(fmt.Sprintf("Insert a space after %q", verb), textEdit(cm, at, at, " "))
	case strings.Contains(e.Msg, `without "id="`) && strings.HasPrefix(text[e.Offset:], annotations.KeyID+"="):
		return fix(`Remove "id="`, textEdit(cm, e.Offset, e.Offset+len(annotations.KeyID)+1, ""))
	}
	return nil
}

// wordAt returns the key or word starting at offset: the bytes up to the
// next space or '='.
func wordAt(text string, offset int) string {
	end := offset
	for end < len(text) && text[end] != ' ' && text[end] != '\t' && text[end] != '=' {
		end++
	}
	return text[offset:end]
}

// typoFixes rewrites a line comment that [annotations.LikelyTypo] flagged
// into the directive it was meant to be, when the result is one.
func typoFixes(cm *ast.Comment) []analysis.SuggestedFix {
	fixed, ok := annotations.RewriteTypo(cm.Text)
	if !ok {
		return nil
	}
	return fix(fmt.Sprintf("Rewrite as %q", cut(fixed, 40)), textEdit(cm, 0, len(cm.Text), fixed))
}

func fix(message string, edits ...analysis.TextEdit) []analysis.SuggestedFix {
	return []analysis.SuggestedFix{{Message: message, TextEdits: edits}}
}

// cut shortens s to at most n bytes for a fix title.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

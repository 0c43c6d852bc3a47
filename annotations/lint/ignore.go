package lint

import (
	"fmt"
	"go/ast"
	"strings"
)

// IgnorePrefix starts a comment that silences a warning of this analyzer
// for one change: "//flamingocklint:ignore norollback emails cannot be
// unsent", in the doc comment of the change function.
//
// It is not a //flamingock: directive on purpose: the directive grammar,
// shared with flamingock-gen, has only "change" and "rollback", and the
// generator rejects any other verb. "flamingocklint" is too long to pass
// for a misspelt "flamingock", and being lowercase letters before a colon
// it is a Go directive comment, so godoc hides it as it hides the
// //flamingock: lines beside it.
const IgnorePrefix = "//flamingocklint:ignore"

// ignorable lists the checks that can be silenced, with why one would.
// Only warnings are: everything else is an error flamingock-gen reports
// too, which no comment can make it accept.
var ignorable = map[string]string{
	catNoRollback: "a non-transactional change without a rollback",
	catTxEscape:   "a transactional change that takes a handle outside its transaction",
}

// ignores returns the checks silenced in a doc comment, each mapped to the
// comment that silences it, and reports malformed ignore comments.
func (c *checker) ignores(group *ast.CommentGroup) map[string]*ast.Comment {
	var out map[string]*ast.Comment
	for _, cm := range group.List {
		rest, ok := strings.CutPrefix(cm.Text, IgnorePrefix)
		if !ok {
			continue
		}
		check, _ := cutSpace(rest)
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			check = ""
		}
		if _, known := ignorable[check]; !known {
			c.report(cm.Slash, catIgnore, false, fmt.Sprintf("%s needs the name of the check to silence: %s", IgnorePrefix, ignorableList()))
			continue
		}
		if out == nil {
			out = map[string]*ast.Comment{}
		}
		out[check] = cm
	}
	return out
}

func ignorableList() string {
	return fmt.Sprintf("%q (%s) or %q (%s)", catNoRollback, ignorable[catNoRollback], catTxEscape, ignorable[catTxEscape])
}

// cutSpace returns the first space-separated word of s and the rest.
func cutSpace(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// silenced reports whether a doc comment silences check for ch, and
// records that the silencing comment was needed.
func (c *checker) silenced(ch *change, check string) bool {
	cm, ok := ch.ignores[check]
	if ok {
		c.usedIgnores[cm] = true
	}
	return ok
}

// unusedIgnores reports ignore comments that silence nothing, so they do
// not linger after the code they excused has changed.
func (c *checker) unusedIgnores(sites []site) {
	for _, s := range sites {
		for check, cm := range s.ignores {
			if !c.usedIgnores[cm] {
				c.report(cm.Slash, catIgnore, false, fmt.Sprintf("%s %s silences nothing here; remove it", IgnorePrefix, check))
			}
		}
	}
}

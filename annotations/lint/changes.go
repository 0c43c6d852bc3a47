package lint

import (
	"fmt"

	"golang.org/x/tools/go/analysis"
)

// noRollback warns about non-transactional changes without a rollback: if
// such a change fails halfway, nothing undoes what it did, and its stage
// stays blocked until an operator looks at the target by hand.
func (c *checker) noRollback(changes []*change) {
	for _, ch := range changes {
		if ch.Directive.Change.Transactional || ch.Rollback != nil || c.silenced(ch, catNoRollback) {
			continue
		}
		c.report(ch.Comment.Slash, catNoRollback, false,
			fmt.Sprintf("%stransactional=false and no rollback: a failure halfway leaves %s partly applied with nothing to undo it; add a //flamingock:rollback %s function, or declare that there is none with %q",
				ch.Who(), ch.Func.Name.Name, ch.ID, IgnorePrefix+" "+catNoRollback),
			noRollbackFix(ch)...)
	}
}

// noRollbackFix declares "no rollback" for ch: it adds the ignore comment
// on the line after the directive.
func noRollbackFix(ch *change) []analysis.SuggestedFix {
	end := ch.Comment.End()
	return fix("Declare that "+ch.ID+" has no rollback",
		analysis.TextEdit{Pos: end, End: end, NewText: []byte("\n" + IgnorePrefix + " " + catNoRollback)})
}

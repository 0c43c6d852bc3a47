package lint

import (
	"fmt"

	"golang.org/x/tools/go/analysis"
)

// requireRollback is the -require-rollback flag: the project undoes
// changes on demand (Runner.Undo, the undo command), so every change
// needs a rollback, not only the non-transactional ones. Off by default
// because undo is optional: a project that never undoes would only be
// told to write rollbacks it does not use.
var requireRollback bool

func init() {
	Analyzer.Flags.BoolVar(&requireRollback, "require-rollback", false,
		"also report transactional changes without a //flamingock:rollback function (for projects that undo changes)")
}

// noRollback warns about changes without a rollback. A non-transactional
// change needs one always: if it fails halfway, nothing undoes what it
// did, and its stage stays blocked until an operator looks at the target
// by hand. A transactional change needs one only under -require-rollback:
// its transaction undoes a failure, but undoing it once applied runs its
// rollback. One ignore comment, "norollback", declares that a change has
// none, whichever the reason.
func (c *checker) noRollback(changes []*change) {
	for _, ch := range changes {
		transactional := ch.Directive.Change.Transactional
		if ch.Rollback != nil || (transactional && !requireRollback) || c.silenced(ch, catNoRollback) {
			continue
		}
		var msg string
		if transactional {
			msg = fmt.Sprintf("%sno rollback, and -require-rollback is set: Runner.Undo and the undo command refuse to undo %s without one; add a //flamingock:rollback %s function, or declare that there is none with %q",
				ch.Who(), ch.Func.Name.Name, ch.ID, IgnorePrefix+" "+catNoRollback)
		} else {
			msg = fmt.Sprintf("%stransactional=false and no rollback: a failure halfway leaves %s partly applied with nothing to undo it; add a //flamingock:rollback %s function, or declare that there is none with %q",
				ch.Who(), ch.Func.Name.Name, ch.ID, IgnorePrefix+" "+catNoRollback)
		}
		c.report(ch.Comment.Slash, catNoRollback, false, msg, noRollbackFix(ch)...)
	}
}

// noRollbackFix declares "no rollback" for ch: it adds the ignore comment
// on the line after the directive.
func noRollbackFix(ch *change) []analysis.SuggestedFix {
	end := ch.Comment.End()
	return fix("Declare that "+ch.ID+" has no rollback",
		analysis.TextEdit{Pos: end, End: end, NewText: []byte("\n" + IgnorePrefix + " " + catNoRollback)})
}

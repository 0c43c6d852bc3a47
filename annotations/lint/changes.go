package lint

import (
	"cmp"
	"fmt"
	"go/token"
	"slices"

	"github.com/flamingock/flamingock-go/annotations"
	"golang.org/x/tools/go/analysis"
)

// change is one well-formed change directive with what was derived from it.
type change struct {
	site
	id    string
	order string // explicit or from the file name; "" when there is none
	// sig is the function's signature when it has the shape of a change
	// function; nil otherwise, and then checks that compare parameter
	// types stay quiet (the signature is already reported).
	sig      *signature
	rollback *site // set when a rollback directive names this change
}

// keyPos is the position of key in the directive, or of the directive when
// the key is not written.
func (ch *change) keyPos(key string) token.Pos {
	if off, ok := ch.dir.Change.Keys[key]; ok {
		return ch.comment.Slash + token.Pos(off)
	}
	return ch.comment.Slash
}

func (ch *change) who() string { return fmt.Sprintf("change %q: ", ch.id) }

// changes builds the package's changes in source order and reports
// signatures, orders and duplicate ids and orders.
func (c *checker) changes(sites []site) []*change {
	var out []*change
	byID := map[string]*change{}
	for _, s := range sites {
		if s.dir.Kind != annotations.KindChange {
			continue
		}
		ch := &change{site: s, id: s.dir.Change.ID}
		ch.order = c.order(ch)
		ch.sig = c.signature(s.fn, ch.who())
		if prev, dup := byID[ch.id]; dup {
			c.report(ch.keyPos(annotations.KeyID), catDuplicate, true,
				fmt.Sprintf("%sduplicate change id: also declared at %s", ch.who(), c.where(prev.keyPos(annotations.KeyID))))
			continue
		}
		byID[ch.id] = ch
		out = append(out, ch)
	}
	c.orderCollisions(out)
	return out
}

// order returns the change's order, from order= or from the file name's
// numeric prefix, and reports when it has neither or when they disagree.
func (c *checker) order(ch *change) string {
	explicit := ch.dir.Change.Order
	base := c.fileName(ch.file.Pos())
	fromName, named := annotations.OrderFromFileName(base)
	switch {
	case explicit != "" && named && annotations.CompareOrders(explicit, fromName) != 0:
		c.report(ch.keyPos(annotations.KeyOrder), catOrder, true,
			fmt.Sprintf("%sorder=%s differs from order %s in the file name %s; remove one or make them agree", ch.who(), explicit, fromName, base))
		return explicit
	case explicit != "":
		return explicit
	case named:
		return fromName
	}
	c.report(ch.comment.Slash, catOrder, true,
		fmt.Sprintf("%sno order: add order=<n> to the directive or name the file with an order prefix, as in 0001_%s", ch.who(), base))
	return ""
}

// orderCollisions reports changes whose orders compare equal: the runtime
// could not tell which runs first. The later one in source is reported.
func (c *checker) orderCollisions(changes []*change) {
	sorted := slices.Clone(changes)
	slices.SortStableFunc(sorted, func(a, b *change) int {
		return cmp.Or(annotations.CompareOrders(a.order, b.order), cmp.Compare(a.comment.Slash, b.comment.Slash))
	})
	for i := 1; i < len(sorted); i++ {
		prev, ch := sorted[i-1], sorted[i]
		if ch.order == "" || prev.order == "" || annotations.CompareOrders(prev.order, ch.order) != 0 {
			continue
		}
		c.report(ch.keyPos(annotations.KeyOrder), catDuplicate, true,
			fmt.Sprintf("%sorder %s collides with order %s of change %q at %s; orders within a package must differ",
				ch.who(), ch.order, prev.order, prev.id, c.where(prev.keyPos(annotations.KeyOrder))))
	}
}

// rollbacks pairs each rollback directive with its change and reports
// rollbacks of unknown changes, second rollbacks and parameter mismatches.
func (c *checker) rollbacks(sites []site, changes []*change) {
	byID := map[string]*change{}
	for _, ch := range changes {
		byID[ch.id] = ch
	}
	for i := range sites {
		s := &sites[i]
		if s.dir.Kind != annotations.KindRollback {
			continue
		}
		id := s.dir.Rollback.ID
		who := fmt.Sprintf("rollback of %q: ", id)
		sig := c.signature(s.fn, who)
		ch := byID[id]
		switch {
		case ch == nil:
			c.report(s.comment.Slash+token.Pos(s.dir.Rollback.IDOffset), catRollback, true,
				fmt.Sprintf("%sno change with id %q in package %s; a rollback must be in the same package as its change", who, id, c.pass.Pkg.Path()))
		case ch.rollback != nil:
			c.report(s.comment.Slash, catRollback, true, fmt.Sprintf("%s%s is a second rollback of change %q; %s (%s) already undoes it",
				who, s.fn.Name.Name, id, ch.rollback.fn.Name.Name, c.where(ch.rollback.fn.Name.Pos())))
		default:
			ch.rollback = s
			if sig != nil && ch.sig != nil && !sig.sameParams(ch.sig) {
				c.report(s.fn.Type.Params.Pos(), catRollback, true,
					fmt.Sprintf("%s%s takes %s but change %s takes %s; a rollback must take the same parameters as its change",
						who, s.fn.Name.Name, c.paramsString(sig), ch.fn.Name.Name, c.paramsString(ch.sig)))
			}
		}
	}
}

// noRollback warns about non-transactional changes without a rollback: if
// such a change fails halfway, nothing undoes what it did, and its stage
// stays blocked until an operator looks at the target by hand.
func (c *checker) noRollback(changes []*change) {
	for _, ch := range changes {
		if ch.dir.Change.Transactional || ch.rollback != nil || c.silenced(ch, catNoRollback) {
			continue
		}
		c.report(ch.comment.Slash, catNoRollback, false,
			fmt.Sprintf("%stransactional=false and no rollback: a failure halfway leaves %s partly applied with nothing to undo it; add a //flamingock:rollback %s function, or declare that there is none with %q",
				ch.who(), ch.fn.Name.Name, ch.id, IgnorePrefix+" "+catNoRollback),
			noRollbackFix(ch)...)
	}
}

// noRollbackFix declares "no rollback" for ch: it adds the ignore comment
// on the line after the directive.
func noRollbackFix(ch *change) []analysis.SuggestedFix {
	end := ch.comment.End()
	return fix("Declare that "+ch.id+" has no rollback",
		analysis.TextEdit{Pos: end, End: end, NewText: []byte("\n" + IgnorePrefix + " " + catNoRollback)})
}

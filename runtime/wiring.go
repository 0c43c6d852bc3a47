package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/suggest"
)

// wiringProblems checks that every change of p whose action is one of
// actions has its target registered and every parameter it needs provided,
// and names a registered target or dependency type close to a missing one.
// Run checks the changes it will apply, before anything runs; Plan checks
// those and the blocked ones, so that plan, status and validate report the
// problem before a deployment finds it.
func (r *Runner) wiringProblems(p *Plan, actions ...Action) []string {
	var problems []string
	for _, pc := range p.Changes {
		if !slices.Contains(actions, pc.Action) {
			continue
		}
		c := pc.Change
		t := r.targetOf(c)
		if t == nil {
			msg := fmt.Sprintf("%s: change %q: target %q is not registered (use WithTargets)", c.Source, c.ID, c.Target)
			if near := suggest.Closest(c.Target, r.targetIDs()); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			problems = append(problems, msg)
			continue
		}
		provided := NewDeps(r.cfg.deps)
		if pc.Protocol == audit.NonTx {
			t.Provide(provided)
		} else {
			for _, typ := range t.(TransactionalTarget).TxTypes() {
				provided.set(typ, nil)
			}
		}
		for _, need := range c.NeedTypes() {
			if provided.Has(need) {
				continue
			}
			where := "outside a transaction"
			if pc.Protocol != audit.NonTx {
				where = "inside a transaction"
			}
			msg := fmt.Sprintf("%s: change %q needs a %s, which target %q does not provide %s and no WithDependency registers", c.Source, c.ID, need, t.ID(), where)
			if near := closestType(need.String(), typeNames(provided)); near != "" {
				msg += fmt.Sprintf("; did you mean %s?", near)
			}
			problems = append(problems, msg)
		}
	}
	return problems
}

func (r *Runner) targetIDs() []string {
	ids := make([]string, 0, len(r.cfg.targets))
	for id := range r.cfg.targets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// typeNames lists the types d and its parents provide.
func typeNames(d *Deps) []string {
	var out []string
	for s := d; s != nil; s = s.parent {
		for _, v := range s.values {
			out = append(out, v.t.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// closestType returns the type among candidates that name was probably meant
// to be: the same type name from another package, or a slip in the name
// (see [suggest.Closest]); "" when none is near.
func closestType(name string, candidates []string) string {
	byElem := map[string]string{}
	var elems []string
	for _, c := range candidates {
		e := lastElem(c)
		if c == name {
			continue
		}
		if e == lastElem(name) {
			return c
		}
		if _, dup := byElem[e]; !dup {
			byElem[e] = c
			elems = append(elems, e)
		}
	}
	return byElem[suggest.Closest(lastElem(name), elems)]
}

// lastElem is a type name without its package: "*sql.DB" → "DB", so that
// a type from another package of the same name is suggested.
func lastElem(s string) string {
	s = strings.TrimLeft(s, "*[]")
	if i := strings.LastIndex(s, "."); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Wiring returns the problems of p's changes that would run (or run once an
// issue is resolved) but cannot: a target that is not registered, or a
// parameter nothing provides. The runner fills it in [Runner.Plan].
func (p *Plan) Wiring() *DependencyError {
	if len(p.wiring) == 0 {
		return nil
	}
	return &DependencyError{Problems: slices.Clone(p.wiring)}
}

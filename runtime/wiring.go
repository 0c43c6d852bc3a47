package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flamingock/flamingock-go/audit"
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
			if near := closest(c.Target, r.targetIDs()); near != "" {
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
				provided.values[typ] = nil
			}
		}
		for _, need := range c.Needs {
			if provided.Has(need) {
				continue
			}
			where := "outside a transaction"
			if pc.Protocol != audit.NonTx {
				where = "inside a transaction"
			}
			msg := fmt.Sprintf("%s: change %q needs a %s, which target %q does not provide %s and no WithDependency registers", c.Source, c.ID, need, t.ID(), where)
			if near := closest(need.String(), typeNames(provided)); near != "" {
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
		for t := range s.values {
			out = append(out, t.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// closest returns the candidate nearest to name when it is near enough to
// be a slip, else "": the same name in another case or package, or one
// whose last element (a type without its package) is at most a third of
// its length plus one edits away.
func closest(name string, candidates []string) string {
	short := strings.ToLower(lastElem(name))
	limit := len(short)/3 + 1
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == name {
			continue
		}
		if strings.EqualFold(c, name) || lastElem(c) == lastElem(name) {
			return c
		}
		if d := editDistance(short, strings.ToLower(lastElem(c))); d <= limit && d < bestD {
			best, bestD = c, d
		}
	}
	return best
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

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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

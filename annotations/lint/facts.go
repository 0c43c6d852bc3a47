package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"golang.org/x/tools/go/analysis"
)

// packageIDs is the fact a package that declares changes exports: the ids
// it declares, each with where, so that a package importing it can report
// an id declared in both.
//
// Facts only flow along imports, so this catches a duplicate between a
// changes package and the changes packages it imports (directly or not).
// Two unrelated packages that reuse an id are caught by flamingock-gen,
// which sees every package of one invocation at once.
type packageIDs struct {
	IDs       []string
	Positions []string // file:line:col of each id, parallel to IDs
}

func (*packageIDs) AFact() {}

func (f *packageIDs) String() string { return "flamingock ids " + strings.Join(f.IDs, ",") }

// exportIDs exports the package's change ids.
func (c *checker) exportIDs(changes []*change) {
	if len(changes) == 0 {
		return
	}
	f := &packageIDs{}
	for _, ch := range changes {
		f.IDs = append(f.IDs, ch.ID)
		f.Positions = append(f.Positions, c.pass.Fset.Position(ch.KeyPos(annotations.KeyID)).String())
	}
	c.pass.ExportPackageFact(f)
}

// crossPackageIDs reports ids of this package that a package it depends on
// already declares.
func (c *checker) crossPackageIDs(changes []*change) {
	if len(changes) == 0 {
		return
	}
	facts := c.pass.AllPackageFacts()
	slices.SortFunc(facts, func(a, b analysis.PackageFact) int { return strings.Compare(a.Package.Path(), b.Package.Path()) })
	for _, pf := range facts {
		f, ok := pf.Fact.(*packageIDs)
		if !ok || pf.Package == c.pass.Pkg {
			continue
		}
		for _, ch := range changes {
			if i := slices.Index(f.IDs, ch.ID); i >= 0 {
				c.report(ch.KeyPos(annotations.KeyID), catDuplicate, true,
					fmt.Sprintf("%sduplicate change id: also declared in package %s at %s; ids must be unique across all stages",
						ch.Who(), pf.Package.Path(), f.Positions[i]))
			}
		}
	}
}

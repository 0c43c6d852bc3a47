package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/internal/placement"
	"golang.org/x/tools/go/analysis"
)

// site is a well-formed directive in the doc comment of a top-level
// function of a non-test file.
type site struct {
	dir     annotations.Directive
	comment *ast.Comment
	fn      *ast.FuncDecl
	file    *ast.File
	// ignores are the checks silenced by //flamingocklint:ignore lines in
	// the same doc comment.
	ignores map[string]*ast.Comment
}

// scan walks every comment of the package: it reports malformed, misspelt
// and misplaced directives and returns the well-formed ones on top-level
// functions, with the package's flamingock_gen.go if it has one.
func (c *checker) scan() (sites []site, genFile *ast.File) {
	for _, f := range c.pass.Files {
		if c.isOurGenerated(f) {
			genFile = f
			continue
		}
		test := strings.HasSuffix(c.fileName(f.Pos()), "_test.go")
		owners := placement.DocOwners(f)
		for _, group := range f.Comments {
			var groupSites []site
			for _, cm := range group.List {
				if s, ok := c.comment(f, cm, owners[cm], test); ok {
					groupSites = append(groupSites, s)
				}
			}
			if len(groupSites) > 0 {
				// Ignore comments count only beside a directive.
				ignores := c.ignores(group)
				for i := range groupSites {
					groupSites[i].ignores = ignores
				}
				sites = append(sites, groupSites...)
			}
		}
	}
	return sites, genFile
}

// comment checks one comment and returns it as a site when it is a
// well-formed directive on a top-level function.
func (c *checker) comment(f *ast.File, cm *ast.Comment, owner ast.Node, test bool) (site, bool) {
	if !strings.HasPrefix(cm.Text, annotations.Prefix) {
		if test || strings.HasPrefix(cm.Text, "//\t") {
			// A _test.go file is not read by the generator; a line
			// indented by a tab is a code block in a doc comment: an
			// example, as flamingock-gen also reads it.
			return site{}, false
		}
		if hint, typo := annotations.LikelyTypo(cm.Text); typo {
			if c.typoReported(cm, owner) {
				c.report(cm.Slash, catTypo, true, hint, typoFixes(cm)...)
			}
		}
		return site{}, false
	}
	d, ok, errs := annotations.Parse(cm.Text)
	if !ok {
		return site{}, false
	}
	who := placement.Subject(d)
	if test {
		c.report(cm.Slash, catPlacement, false, fmt.Sprintf("%s%s is in a _test.go file, which flamingock-gen does not read; move the function to a non-test file",
			who, placement.DirectiveName(d)))
		return site{}, false
	}
	for _, e := range errs {
		c.report(cm.Slash+token.Pos(e.Offset), catDirective, true, who+e.Msg, parseFixes(cm, e)...)
	}
	if len(errs) > 0 {
		return site{}, false
	}
	fn, problem := placement.Check(f, owner, cm, d)
	if problem != "" {
		c.report(cm.Slash, catPlacement, true, problem)
		return site{}, false
	}
	return site{dir: d, comment: cm, fn: fn, file: f}, true
}

// onePerFunction drops and reports every directive after the first on the
// same function: a function declares one change or one rollback.
func (c *checker) onePerFunction(sites []site) []site {
	first := map[*ast.FuncDecl]site{}
	var out []site
	for _, s := range sites {
		if prev, dup := first[s.fn]; dup {
			c.report(s.comment.Slash, catPlacement, true, fmt.Sprintf("%s%s is the second directive on %s (the first is at %s); a function declares one change or one rollback",
				placement.Subject(s.dir), placement.DirectiveName(s.dir), s.fn.Name.Name, c.where(prev.comment.Slash)))
			continue
		}
		first[s.fn] = s
		out = append(out, s)
	}
	return out
}

// textEdit replaces the bytes [from, to) of comment cm with text.
func textEdit(cm *ast.Comment, from, to int, text string) analysis.TextEdit {
	return analysis.TextEdit{Pos: cm.Slash + token.Pos(from), End: cm.Slash + token.Pos(to), NewText: []byte(text)}
}

// typoReported decides whether a comment that [annotations.LikelyTypo]
// flags is reported. In the doc comment of a function it always is, as
// flamingock-gen reports it there. Elsewhere (a package or type doc, a
// comment in a body) the analyzer, which runs on every package and not
// only on those holding changes, reports it only when the rewritten
// comment is a flawless directive: prose that wraps a line before
// "//flamingock:change directives ..." is not a typo.
func (c *checker) typoReported(cm *ast.Comment, owner ast.Node) bool {
	if _, onFunc := owner.(*ast.FuncDecl); onFunc {
		return true
	}
	fixed, ok := annotations.RewriteTypo(cm.Text)
	if !ok {
		return false
	}
	_, _, errs := annotations.Parse(fixed)
	return len(errs) == 0
}

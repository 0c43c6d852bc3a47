package gen

import (
	"go/ast"
	"go/token"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/internal/placement"
)

// site is a well-formed directive found in the doc comment of a top-level
// function.
type site struct {
	dir     annotations.Directive
	comment *ast.Comment
	fn      *ast.FuncDecl
	file    *ast.File
	pos     token.Position // of the comment
}

// scanFile returns the directives on top-level functions of file and
// reports every other directive: misplaced, malformed or misspelt.
func scanFile(fset *token.FileSet, file *ast.File, c *collector) []site {
	owners := placement.DocOwners(file)
	var sites []site
	for _, group := range file.Comments {
		for _, cm := range group.List {
			if !strings.HasPrefix(cm.Text, annotations.Prefix) {
				if hint, typo := annotations.LikelyTypo(cm.Text); typo {
					c.errorf(fset.PositionFor(cm.Slash, false), "%s", hint)
				}
				continue
			}
			d, ok, errs := annotations.Parse(cm.Text)
			if !ok {
				continue
			}
			pos := fset.PositionFor(cm.Slash, false)
			who := placement.Subject(d)
			for _, e := range errs {
				c.errorf(fset.PositionFor(cm.Slash+token.Pos(e.Offset), false), "%s%s", who, e.Msg)
			}
			if len(errs) > 0 {
				continue
			}
			fn, problem := placement.Check(file, owners[cm], cm, d)
			if problem != "" {
				c.errorf(pos, "%s", problem)
				continue
			}
			sites = append(sites, site{dir: d, comment: cm, fn: fn, file: file, pos: pos})
		}
	}
	return sites
}

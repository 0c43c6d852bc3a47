package gen

import (
	"fmt"
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
					c.errorf(fset.Position(cm.Slash), "%s", hint)
				}
				continue
			}
			d, ok, errs := annotations.Parse(cm.Text)
			if !ok {
				continue
			}
			pos := fset.Position(cm.Slash)
			who := subject(d)
			for _, e := range errs {
				c.errorf(fset.Position(cm.Slash+token.Pos(e.Offset)), "%s%s", who, e.Msg)
			}
			if len(errs) > 0 {
				continue
			}
			owner := owners[cm]
			fn, isFunc := owner.(*ast.FuncDecl)
			switch {
			case isFunc && fn.Recv != nil:
				c.errorf(pos, "%s%s is on method %s; changes and rollbacks must be top-level functions", who, directiveName(d), placement.MethodName(fn))
			case isFunc:
				sites = append(sites, site{dir: d, comment: cm, fn: fn, file: file, pos: pos})
			case owner != nil:
				c.errorf(pos, "%s%s is on %s, not on a function; put it in the doc comment of a top-level func", who, directiveName(d), placement.DescribeDecl(owner))
			case placement.InFuncBody(file, cm.Pos()):
				c.errorf(pos, "%s%s is inside a function body; put it in the doc comment of a top-level func", who, directiveName(d))
			default:
				c.errorf(pos, "%s%s is not attached to a declaration; put it directly above a top-level func, with no blank line between", who, directiveName(d))
			}
		}
	}
	return sites
}

// subject names what a directive declares, as the prefix of its messages:
// `change "create-users": `.
func subject(d annotations.Directive) string {
	switch {
	case d.Kind == annotations.KindChange && d.Change.ID != "":
		return fmt.Sprintf("change %q: ", d.Change.ID)
	case d.Kind == annotations.KindRollback && d.Rollback.ID != "":
		return fmt.Sprintf("rollback of %q: ", d.Rollback.ID)
	}
	return ""
}

func directiveName(d annotations.Directive) string {
	return annotations.Prefix + d.Kind.String()
}

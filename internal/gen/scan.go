package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
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
	owners := docOwners(file)
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
				c.errorf(pos, "%s%s is on method %s; changes and rollbacks must be top-level functions", who, directiveName(d), methodName(fn))
			case isFunc:
				sites = append(sites, site{dir: d, comment: cm, fn: fn, file: file, pos: pos})
			case owner != nil:
				c.errorf(pos, "%s%s is on %s, not on a function; put it in the doc comment of a top-level func", who, directiveName(d), describeDecl(owner))
			case inFuncBody(file, cm.Pos()):
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

// docOwners maps each comment of a declaration's doc comment to that
// declaration (a FuncDecl, GenDecl or one of its specs).
func docOwners(file *ast.File) map[*ast.Comment]ast.Node {
	owners := map[*ast.Comment]ast.Node{}
	add := func(doc *ast.CommentGroup, n ast.Node) {
		if doc == nil {
			return
		}
		for _, cm := range doc.List {
			owners[cm] = n
		}
	}
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			add(d.Doc, d)
		case *ast.GenDecl:
			add(d.Doc, d)
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					add(s.Doc, d)
				case *ast.ValueSpec:
					add(s.Doc, d)
				case *ast.ImportSpec:
					add(s.Doc, d)
				}
			}
		}
	}
	return owners
}

func describeDecl(n ast.Node) string {
	if g, ok := n.(*ast.GenDecl); ok {
		switch g.Tok {
		case token.TYPE:
			return "a type declaration"
		case token.VAR:
			return "a var declaration"
		case token.CONST:
			return "a const declaration"
		case token.IMPORT:
			return "an import declaration"
		}
	}
	return "a declaration"
}

func inFuncBody(file *ast.File, pos token.Pos) bool {
	for _, decl := range file.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil && fn.Body.Pos() < pos && pos < fn.Body.End() {
			return true
		}
	}
	return false
}

// methodName renders a method as (T).M or (*T).M.
func methodName(fn *ast.FuncDecl) string {
	recv := "?"
	if len(fn.Recv.List) > 0 {
		recv = types.ExprString(fn.Recv.List[0].Type)
	}
	return "(" + recv + ")." + fn.Name.Name
}

package placement

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"github.com/flamingock/flamingock-go/annotations"
)

// DocOwners maps each comment of a declaration's doc comment to that
// declaration (a FuncDecl, GenDecl or one of its specs).
func DocOwners(file *ast.File) map[*ast.Comment]ast.Node {
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

// DescribeDecl names the kind of declaration n is, for messages.
func DescribeDecl(n ast.Node) string {
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

// InFuncBody reports whether pos lies inside the body of a function of file.
func InFuncBody(file *ast.File, pos token.Pos) bool {
	for _, decl := range file.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil && fn.Body.Pos() < pos && pos < fn.Body.End() {
			return true
		}
	}
	return false
}

// MethodName renders a method as (T).M or (*T).M.
func MethodName(fn *ast.FuncDecl) string {
	recv := "?"
	if len(fn.Recv.List) > 0 {
		recv = types.ExprString(fn.Recv.List[0].Type)
	}
	return "(" + recv + ")." + fn.Name.Name
}

// Subject names what a directive declares, as the prefix of messages about
// it: `change "create-users": `, or nothing when it has no id.
func Subject(d annotations.Directive) string {
	switch {
	case d.Kind == annotations.KindChange && d.Change.ID != "":
		return fmt.Sprintf("change %q: ", d.Change.ID)
	case d.Kind == annotations.KindRollback && d.Rollback.ID != "":
		return fmt.Sprintf("rollback of %q: ", d.Rollback.ID)
	}
	return ""
}

// DirectiveName is how messages name a directive: "//flamingock:change".
func DirectiveName(d annotations.Directive) string {
	if d.Kind == 0 {
		return "directive"
	}
	return annotations.Prefix + d.Kind.String()
}

// Check places directive d, read from comment cm of file: it returns the
// top-level function it declares, or a message saying why it cannot be
// there. owner is cm's entry in [DocOwners].
func Check(file *ast.File, owner ast.Node, cm *ast.Comment, d annotations.Directive) (*ast.FuncDecl, string) {
	who, name := Subject(d), DirectiveName(d)
	fn, isFunc := owner.(*ast.FuncDecl)
	switch {
	case isFunc && fn.Recv != nil:
		return nil, fmt.Sprintf("%s%s is on method %s; changes and rollbacks must be top-level functions", who, name, MethodName(fn))
	case isFunc:
		return fn, ""
	case owner != nil:
		return nil, fmt.Sprintf("%s%s is on %s, not on a function; put it in the doc comment of a top-level func", who, name, DescribeDecl(owner))
	case InFuncBody(file, cm.Pos()):
		return nil, fmt.Sprintf("%s%s is inside a function body; put it in the doc comment of a top-level func", who, name)
	}
	return nil, fmt.Sprintf("%s%s is not attached to a declaration; put it directly above a top-level func, with no blank line between", who, name)
}

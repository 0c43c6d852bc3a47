package placement

import (
	"go/ast"
	"go/token"
	"go/types"
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

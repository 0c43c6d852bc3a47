package lint

import (
	"fmt"
	"go/ast"
	"go/types"
	"slices"
	"strings"
)

// signature is a function with the shape of a change function,
// func(context.Context, deps...) error.
type signature struct {
	params []types.Type // all of them, the context first
	exprs  []ast.Expr   // the type expression of each parameter
}

func (s *signature) sameParams(o *signature) bool {
	return slices.EqualFunc(s.params, o.params, types.Identical)
}

// signature checks that fn has the shape of a change function and returns
// it, or reports every way it does not and returns nil. who prefixes the
// messages.
func (c *checker) signature(fn *ast.FuncDecl, who string) *signature {
	obj, _ := c.pass.TypesInfo.Defs[fn.Name].(*types.Func)
	if obj == nil {
		return nil // a type error, reported by the compiler
	}
	sig := obj.Type().(*types.Signature)
	name := fn.Name.Name
	ok := true
	bad := func(pos ast.Node, format string, args ...any) {
		c.report(pos.Pos(), catSignature, true, who+fmt.Sprintf(format, args...))
		ok = false
	}
	if fn.Type.TypeParams != nil {
		bad(fn.Type.TypeParams, "%s has type parameters; a change function cannot be generic", name)
	}
	exprs := paramExprs(fn)
	params := sig.Params()
	switch {
	case params.Len() == 0:
		bad(fn.Type.Params, "%s has no parameters; the first must be context.Context", name)
	case !isNamed(params.At(0).Type(), "context", "Context"):
		bad(exprs[0], "the first parameter of %s must be context.Context, not %s", name, c.typeString(params.At(0).Type()))
	}
	if sig.Variadic() {
		bad(exprs[len(exprs)-1], "%s is variadic; a change function cannot take a ...%s parameter", name,
			c.typeString(params.At(params.Len()-1).Type().(*types.Slice).Elem()))
	}
	if !returnsError(sig) {
		var at ast.Node = fn.Name
		if fn.Type.Results != nil {
			at = fn.Type.Results
		}
		bad(at, "%s must return exactly one result, of type error; it returns %s", name, c.resultString(sig))
	}
	if !ok {
		return nil
	}
	s := &signature{exprs: exprs}
	for v := range params.Variables() {
		s.params = append(s.params, v.Type())
	}
	return s
}

// paramExprs returns the type expression of each parameter, one per
// parameter even where several share a type (a, b *sql.Tx).
func paramExprs(fn *ast.FuncDecl) []ast.Expr {
	var exprs []ast.Expr
	for _, f := range fn.Type.Params.List {
		for range max(len(f.Names), 1) {
			exprs = append(exprs, f.Type)
		}
	}
	return exprs
}

// isNamed reports whether t is the named type path.name (through aliases).
func isNamed(t types.Type, path, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == path && n.Obj().Name() == name
}

var errorType = types.Universe.Lookup("error").Type()

func returnsError(sig *types.Signature) bool {
	return sig.Results().Len() == 1 && types.Identical(sig.Results().At(0).Type(), errorType)
}

// typeString writes t as it would appear in the package's own source.
func (c *checker) typeString(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string {
		if p == c.pass.Pkg {
			return ""
		}
		return p.Name()
	})
}

func (c *checker) resultString(sig *types.Signature) string {
	r := sig.Results()
	switch r.Len() {
	case 0:
		return "nothing"
	case 1:
		return c.typeString(r.At(0).Type())
	}
	parts := make([]string, r.Len())
	for i := range r.Len() {
		parts[i] = c.typeString(r.At(i).Type())
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (c *checker) paramsString(s *signature) string {
	parts := make([]string, len(s.params))
	for i, t := range s.params {
		parts[i] = c.typeString(t)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

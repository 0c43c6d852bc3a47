package rules

import (
	"fmt"
	"go/ast"
	"go/types"
	"strings"
)

// signature checks that fn has the shape of a change function,
// func(context.Context, deps...) error, that the registry can call it and
// name its parameter types, and returns its parameter types; or reports
// every way it cannot and returns nil. who prefixes the messages.
func (k *checker) signature(fn *ast.FuncDecl, who string) []types.Type {
	if why := unreferenceable(fn.Name.Name); why != "" {
		k.errorf(fn.Name.Pos(), CatSignature, "%s%s", who, why)
		return nil
	}
	obj, _ := k.Info.Defs[fn.Name].(*types.Func)
	if obj == nil {
		return nil // a type error, reported by the compiler
	}
	sig := obj.Type().(*types.Signature)
	name := fn.Name.Name
	ok := true
	bad := func(at ast.Node, format string, args ...any) {
		k.errorf(at.Pos(), CatSignature, "%s%s", who, fmt.Sprintf(format, args...))
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
		bad(exprs[0], "the first parameter of %s must be context.Context, not %s", name, k.typeString(params.At(0).Type()))
	}
	if sig.Variadic() {
		bad(exprs[len(exprs)-1], "%s is variadic; a change function cannot take a ...%s parameter", name,
			k.typeString(params.At(params.Len()-1).Type().(*types.Slice).Elem()))
	}
	if !returnsError(sig) {
		var at ast.Node = fn.Name
		if fn.Type.Results != nil {
			at = fn.Type.Results
		}
		bad(at, "%s must return exactly one result, of type error; it returns %s", name, k.resultString(sig))
	}
	var all []types.Type
	for i := range params.Len() {
		t := params.At(i).Type()
		if i > 0 {
			if why := k.unnameable(t); why != "" {
				bad(exprs[i], "parameter %d of %s has type %s: %s", i+1, name, k.typeString(t), why)
			}
		}
		all = append(all, t)
	}
	if !ok {
		return nil
	}
	return all
}

// unreferenceable says why Go code cannot refer to a function of this
// name, so a registry cannot call it, or returns "".
func unreferenceable(name string) string {
	switch name {
	case "_":
		return "a function named _ cannot be referred to, so the registry cannot call it; give it a name"
	case "init":
		return "an init function cannot be referred to, so the registry cannot call it; give it another name"
	}
	return ""
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

// unnameable says why the generated file, which lives in the change's
// package, cannot write type t, or returns "" when it can.
func (k *checker) unnameable(t types.Type) string {
	var why string
	walkNamed(t, func(obj *types.TypeName) {
		if why == "" && obj.Pkg() != nil && obj.Pkg() != k.Types && !obj.Exported() {
			why = fmt.Sprintf("%s is unexported in package %s, so the generated registry cannot refer to it; export it or use a type of this package",
				obj.Name(), obj.Pkg().Path())
		}
	})
	return why
}

// walkNamed calls f for every named type or alias that writing t mentions.
func walkNamed(t types.Type, f func(*types.TypeName)) {
	WalkTypes(t, func(t types.Type) {
		switch t := t.(type) {
		case *types.Alias:
			f(t.Obj())
		case *types.Named:
			f(t.Obj())
		}
	})
}

// WalkTypes calls f for t and every type that writing t mentions: type
// arguments, elements, keys, parameters, results, fields, methods and
// embedded interfaces, but not what a named type or alias stands for.
func WalkTypes(t types.Type, f func(types.Type)) {
	f(t)
	switch t := t.(type) {
	case *types.Alias:
		for a := range t.TypeArgs().Types() {
			WalkTypes(a, f)
		}
	case *types.Named:
		for a := range t.TypeArgs().Types() {
			WalkTypes(a, f)
		}
	case *types.Pointer:
		WalkTypes(t.Elem(), f)
	case *types.Slice:
		WalkTypes(t.Elem(), f)
	case *types.Array:
		WalkTypes(t.Elem(), f)
	case *types.Chan:
		WalkTypes(t.Elem(), f)
	case *types.Map:
		WalkTypes(t.Key(), f)
		WalkTypes(t.Elem(), f)
	case *types.Signature:
		for v := range t.Params().Variables() {
			WalkTypes(v.Type(), f)
		}
		for v := range t.Results().Variables() {
			WalkTypes(v.Type(), f)
		}
	case *types.Struct:
		for v := range t.Fields() {
			WalkTypes(v.Type(), f)
		}
	case *types.Interface:
		for m := range t.ExplicitMethods() {
			WalkTypes(m.Type(), f)
		}
		for e := range t.EmbeddedTypes() {
			WalkTypes(e, f)
		}
	}
}

// TypeString writes t as it would appear in the source of package pkg.
func TypeString(pkg *types.Package, t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Name()
	})
}

func (k *checker) typeString(t types.Type) string { return TypeString(k.Types, t) }

func (k *checker) resultString(sig *types.Signature) string {
	r := sig.Results()
	switch r.Len() {
	case 0:
		return "nothing"
	case 1:
		return k.typeString(r.At(0).Type())
	}
	parts := make([]string, r.Len())
	for i := range r.Len() {
		parts[i] = k.typeString(r.At(i).Type())
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (k *checker) paramsString(params []types.Type) string {
	parts := make([]string, len(params))
	for i, t := range params {
		parts[i] = k.typeString(t)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

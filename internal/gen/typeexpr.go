package gen

import (
	"cmp"
	"fmt"
	"go/types"
	"slices"
	"strconv"

	"github.com/dave/jennifer/jen"
)

// importNames chooses the local name of every package the generated file
// imports: the package's own name unless a name of the package being
// generated (or a Go reserved word) takes it, then that name with a number.
// jennifer renders the import block and every qualified name from these
// choices; it would rename only to avoid another import, and it cannot know
// the package's own declarations, which an import must not shadow.
func importNames(paths map[string]string, reserved map[string]bool) map[string]string {
	names := map[string]string{}
	used := map[string]bool{}
	claim := func(path, name string) {
		base := name
		for i := 1; used[name] || reserved[name] || jen.IsReservedWord(name); i++ {
			name = base + strconv.Itoa(i)
		}
		used[name] = true
		names[path] = name
	}
	// The runtime is imported as flamingock: a package named runtime
	// would shadow the standard library's in a reader's mind.
	claim(RuntimePath, runtimeAlias)
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		if p != RuntimePath {
			sorted = append(sorted, p)
		}
	}
	slices.Sort(sorted)
	for _, p := range sorted {
		claim(p, paths[p])
	}
	return names
}

// collectPackages adds to paths (import path -> package name) every package
// other than self that writing t refers to.
func collectPackages(t types.Type, self string, paths map[string]string) {
	walkTypes(t, func(t types.Type) {
		var obj *types.TypeName
		switch t := t.(type) {
		case *types.Basic:
			if t.Kind() == types.UnsafePointer {
				paths["unsafe"] = "unsafe"
			}
		case *types.Alias:
			obj = t.Obj()
		case *types.Named:
			obj = t.Obj()
		}
		if obj != nil && obj.Pkg() != nil && obj.Pkg().Path() != self {
			paths[obj.Pkg().Path()] = obj.Pkg().Name()
		}
	})
}

// typeCode returns t as jennifer code: named types through jen.Qual, so
// the file's import block and local names follow from the types written.
// Aliases are written by their own name, as the user wrote them.
func typeCode(t types.Type) (*jen.Statement, error) {
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			return jen.Qual("unsafe", "Pointer"), nil
		}
		if t.Kind() == types.Invalid || t.Info()&types.IsUntyped != 0 {
			break
		}
		return jen.Id(t.Name()), nil
	case *types.Alias:
		return namedCode(t.Obj(), t.TypeArgs())
	case *types.Named:
		return namedCode(t.Obj(), t.TypeArgs())
	case *types.Pointer:
		return wrapped(jen.Op("*"), t.Elem())
	case *types.Slice:
		return wrapped(jen.Index(), t.Elem())
	case *types.Array:
		return wrapped(jen.Index(jen.Lit(int(t.Len()))), t.Elem())
	case *types.Map:
		k, err := typeCode(t.Key())
		if err != nil {
			return nil, err
		}
		return wrapped(jen.Map(k), t.Elem())
	case *types.Chan:
		return chanCode(t)
	case *types.Signature:
		return signatureCode(jen.Func(), t)
	case *types.Struct:
		return structCode(t)
	case *types.Interface:
		return interfaceCode(t)
	}
	return nil, fmt.Errorf("flamingock-gen cannot write type %s", t)
}

// wrapped returns prefix followed by the code of elem.
func wrapped(prefix *jen.Statement, elem types.Type) (*jen.Statement, error) {
	e, err := typeCode(elem)
	if err != nil {
		return nil, err
	}
	return prefix.Add(e), nil
}

func namedCode(obj *types.TypeName, args *types.TypeList) (*jen.Statement, error) {
	var s *jen.Statement
	if pkg := obj.Pkg(); pkg != nil {
		// jennifer writes a name of the file's own package unqualified.
		s = jen.Qual(pkg.Path(), obj.Name())
	} else {
		s = jen.Id(obj.Name()) // error, comparable, any
	}
	if args.Len() == 0 {
		return s, nil
	}
	list, err := typeList(slices.Collect(args.Types()))
	if err != nil {
		return nil, err
	}
	return s.Types(list...), nil
}

func typeList(ts []types.Type) ([]jen.Code, error) {
	out := make([]jen.Code, len(ts))
	for i, t := range ts {
		c, err := typeCode(t)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func chanCode(t *types.Chan) (*jen.Statement, error) {
	switch t.Dir() {
	case types.SendOnly:
		return wrapped(jen.Chan().Op("<-"), t.Elem())
	case types.RecvOnly:
		return wrapped(jen.Op("<-").Chan(), t.Elem())
	}
	e, err := typeCode(t.Elem())
	if err != nil {
		return nil, err
	}
	// chan (<-chan T): without parentheses the arrow binds to chan.
	if inner, ok := t.Elem().(*types.Chan); ok && inner.Dir() == types.RecvOnly {
		return jen.Chan().Parens(e), nil
	}
	return jen.Chan().Add(e), nil
}

// signatureCode appends sig's parameters and results to head (func, or a
// method name inside an interface).
func signatureCode(head *jen.Statement, sig *types.Signature) (*jen.Statement, error) {
	var params []jen.Code
	for i := range sig.Params().Len() {
		t := sig.Params().At(i).Type()
		if sig.Variadic() && i == sig.Params().Len()-1 {
			e, err := typeCode(t.(*types.Slice).Elem())
			if err != nil {
				return nil, err
			}
			params = append(params, jen.Op("...").Add(e))
			continue
		}
		c, err := typeCode(t)
		if err != nil {
			return nil, err
		}
		params = append(params, c)
	}
	var results []types.Type
	for i := range sig.Results().Len() {
		results = append(results, sig.Results().At(i).Type())
	}
	rs, err := typeList(results)
	if err != nil {
		return nil, err
	}
	s := head.Params(params...)
	switch len(rs) {
	case 0:
		return s, nil
	case 1:
		return s.Add(rs[0]), nil
	}
	return s.Params(rs...), nil
}

func structCode(st *types.Struct) (*jen.Statement, error) {
	fields := make([]jen.Code, 0, st.NumFields())
	for i := range st.NumFields() {
		f := st.Field(i)
		t, err := typeCode(f.Type())
		if err != nil {
			return nil, err
		}
		field := t
		if !f.Embedded() {
			field = jen.Id(f.Name()).Add(t)
		}
		// jennifer's Tag takes a map, which would reorder and requote a
		// tag; the tag is written as the literal it is.
		if tag := st.Tag(i); tag != "" {
			lit := strconv.Quote(tag)
			if strconv.CanBackquote(tag) {
				lit = "`" + tag + "`"
			}
			field = field.Op(lit)
		}
		fields = append(fields, field)
	}
	return jen.Struct(fields...), nil
}

func interfaceCode(it *types.Interface) (*jen.Statement, error) {
	var elems []jen.Code
	for e := range it.EmbeddedTypes() {
		c, err := typeCode(e)
		if err != nil {
			return nil, err
		}
		elems = append(elems, c)
	}
	methods := slices.Collect(it.ExplicitMethods())
	slices.SortStableFunc(methods, func(a, b *types.Func) int { return cmp.Compare(a.Name(), b.Name()) })
	for _, m := range methods {
		c, err := signatureCode(jen.Id(m.Name()), m.Type().(*types.Signature))
		if err != nil {
			return nil, err
		}
		elems = append(elems, c)
	}
	return jen.Interface(elems...), nil
}

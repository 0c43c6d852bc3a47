package gen

import (
	"fmt"
	"go/types"

	"github.com/dave/jennifer/jen"
)

// typeCode writes t as a jennifer expression. Named types are written with
// jen.Qual, so the file imports their packages itself and references to
// the package being generated stay unqualified.
func typeCode(t types.Type) (jen.Code, error) {
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			return jen.Qual("unsafe", "Pointer"), nil
		}
		return jen.Id(t.Name()), nil
	case *types.Alias:
		return namedCode(t.Obj(), t.TypeArgs())
	case *types.Named:
		return namedCode(t.Obj(), t.TypeArgs())
	case *types.Pointer:
		return wrap(t.Elem(), func(e jen.Code) jen.Code { return jen.Op("*").Add(e) })
	case *types.Slice:
		return wrap(t.Elem(), func(e jen.Code) jen.Code { return jen.Index().Add(e) })
	case *types.Array:
		return wrap(t.Elem(), func(e jen.Code) jen.Code { return jen.Index(jen.Lit(int(t.Len()))).Add(e) })
	case *types.Map:
		key, err := typeCode(t.Key())
		if err != nil {
			return nil, err
		}
		return wrap(t.Elem(), func(e jen.Code) jen.Code { return jen.Map(key).Add(e) })
	case *types.Chan:
		return wrap(t.Elem(), func(e jen.Code) jen.Code {
			switch t.Dir() {
			case types.SendOnly:
				return jen.Chan().Op("<-").Add(e)
			case types.RecvOnly:
				return jen.Op("<-").Chan().Add(e)
			}
			return jen.Chan().Add(e)
		})
	case *types.Signature:
		return signatureCode(t)
	case *types.Struct:
		return structCode(t)
	case *types.Interface:
		return interfaceCode(t)
	}
	return nil, fmt.Errorf("flamingock-gen cannot write type %s", t)
}

func wrap(elem types.Type, f func(jen.Code) jen.Code) (jen.Code, error) {
	e, err := typeCode(elem)
	if err != nil {
		return nil, err
	}
	return f(e), nil
}

func namedCode(obj *types.TypeName, args *types.TypeList) (jen.Code, error) {
	var s *jen.Statement
	if obj.Pkg() == nil { // error, any, comparable
		s = jen.Id(obj.Name())
	} else {
		s = jen.Qual(obj.Pkg().Path(), obj.Name())
	}
	if args.Len() == 0 {
		return s, nil
	}
	codes, err := typeCodes(args.Types())
	if err != nil {
		return nil, err
	}
	return s.Types(codes...), nil
}

func typeCodes(ts func(func(types.Type) bool)) ([]jen.Code, error) {
	var codes []jen.Code
	for t := range ts {
		c, err := typeCode(t)
		if err != nil {
			return nil, err
		}
		codes = append(codes, c)
	}
	return codes, nil
}

func tupleCodes(tup *types.Tuple, variadic bool) ([]jen.Code, error) {
	var codes []jen.Code
	for i := range tup.Len() {
		t := tup.At(i).Type()
		if variadic && i == tup.Len()-1 {
			c, err := typeCode(t.(*types.Slice).Elem())
			if err != nil {
				return nil, err
			}
			codes = append(codes, jen.Op("...").Add(c))
			continue
		}
		c, err := typeCode(t)
		if err != nil {
			return nil, err
		}
		codes = append(codes, c)
	}
	return codes, nil
}

func signatureCode(sig *types.Signature) (jen.Code, error) {
	params, err := tupleCodes(sig.Params(), sig.Variadic())
	if err != nil {
		return nil, err
	}
	results, err := tupleCodes(sig.Results(), false)
	if err != nil {
		return nil, err
	}
	s := jen.Func().Params(params...)
	switch len(results) {
	case 0:
	case 1:
		s.Add(results[0])
	default:
		s.Params(results...)
	}
	return s, nil
}

func structCode(st *types.Struct) (jen.Code, error) {
	var fields []jen.Code
	for i := range st.NumFields() {
		f := st.Field(i)
		c, err := typeCode(f.Type())
		if err != nil {
			return nil, err
		}
		var field *jen.Statement
		if f.Embedded() {
			field = jen.Add(c)
		} else {
			field = jen.Id(f.Name()).Add(c)
		}
		if tag := st.Tag(i); tag != "" {
			field.Add(jen.Lit(tag))
		}
		fields = append(fields, field)
	}
	return jen.Struct(fields...), nil
}

func interfaceCode(it *types.Interface) (jen.Code, error) {
	var elems []jen.Code
	for e := range it.EmbeddedTypes() {
		c, err := typeCode(e)
		if err != nil {
			return nil, err
		}
		elems = append(elems, c)
	}
	for m := range it.ExplicitMethods() {
		sig := m.Type().(*types.Signature)
		params, err := tupleCodes(sig.Params(), sig.Variadic())
		if err != nil {
			return nil, err
		}
		results, err := tupleCodes(sig.Results(), false)
		if err != nil {
			return nil, err
		}
		method := jen.Id(m.Name()).Params(params...)
		if len(results) == 1 {
			method.Add(results[0])
		} else if len(results) > 1 {
			method.Params(results...)
		}
		elems = append(elems, method)
	}
	return jen.Interface(elems...), nil
}

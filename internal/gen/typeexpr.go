package gen

import (
	"cmp"
	"fmt"
	"go/types"
	"path"
	"slices"
	"strconv"
	"strings"
)

// imports assigns the local names under which the generated file imports
// packages, and writes type expressions with them.
//
// Names are assigned once, before anything is written, in import path
// order: each package gets its own name, or the name with 1, 2, … appended
// when another import or a package-level name of the user's files has it.
// So the names do not depend on which change mentions a package first.
type imports struct {
	self  string            // import path of the package being generated
	names map[string]string // import path -> local name
}

// newImports names the packages at paths (the runtime first, as
// runtimeAlias), avoiding the names in reserved.
func newImports(self string, paths map[string]string, reserved map[string]bool) *imports {
	im := &imports{self: self, names: map[string]string{}}
	used := map[string]bool{}
	claim := func(path, name string) {
		base := name
		for i := 1; used[name] || reserved[name]; i++ {
			name = base + strconv.Itoa(i)
		}
		used[name] = true
		im.names[path] = name
	}
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
	return im
}

// name returns the local name of the package at path.
func (im *imports) name(path string) string {
	n, ok := im.names[path]
	if !ok {
		// Every package a written type mentions was collected before
		// names were assigned; this is a generator bug.
		panic("flamingock-gen: package " + path + " was not collected for the imports")
	}
	return n
}

// block writes the import declaration: one spec per package, sorted by
// path as gofmt sorts them, with an explicit name only where it differs
// from the last element of the path.
func (im *imports) block(b *strings.Builder) {
	paths := make([]string, 0, len(im.names))
	for p := range im.names {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	spec := func(p string) string {
		if name := im.names[p]; name != path.Base(p) {
			return name + " " + strconv.Quote(p)
		}
		return strconv.Quote(p)
	}
	if len(paths) == 1 {
		b.WriteString("import " + spec(paths[0]) + "\n")
		return
	}
	b.WriteString("import (\n")
	for _, p := range paths {
		b.WriteString("\t" + spec(p) + "\n")
	}
	b.WriteString(")\n")
}

// collectPackages adds to paths (import path -> package name) every
// package that writing t mentions.
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

// typeWriter writes type expressions as Go source.
//
// The output is what gofmt prints for every type but non-empty struct and
// interface literals, which gofmt may spread over several lines; writing
// one sets needsFormat, and the caller then formats the file with
// go/format. Such dependency types are rare, so the common case needs no
// formatting pass.
type typeWriter struct {
	im          *imports
	needsFormat bool
}

// typeString returns t as Go source.
func (w *typeWriter) typeString(t types.Type) (string, error) {
	var b strings.Builder
	if err := w.write(&b, t); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (w *typeWriter) write(b *strings.Builder, t types.Type) error {
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			b.WriteString(w.im.name("unsafe") + ".Pointer")
			return nil
		}
		b.WriteString(t.Name())
		return nil
	case *types.Alias:
		return w.named(b, t.Obj(), t.TypeArgs())
	case *types.Named:
		return w.named(b, t.Obj(), t.TypeArgs())
	case *types.Pointer:
		b.WriteByte('*')
		return w.write(b, t.Elem())
	case *types.Slice:
		b.WriteString("[]")
		return w.write(b, t.Elem())
	case *types.Array:
		b.WriteString("[" + strconv.FormatInt(t.Len(), 10) + "]")
		return w.write(b, t.Elem())
	case *types.Map:
		b.WriteString("map[")
		if err := w.write(b, t.Key()); err != nil {
			return err
		}
		b.WriteByte(']')
		return w.write(b, t.Elem())
	case *types.Chan:
		return w.chanType(b, t)
	case *types.Signature:
		return w.signature(b, t, "func")
	case *types.Struct:
		return w.structType(b, t)
	case *types.Interface:
		return w.interfaceType(b, t)
	}
	return fmt.Errorf("flamingock-gen cannot write type %s", t)
}

func (w *typeWriter) named(b *strings.Builder, obj *types.TypeName, args *types.TypeList) error {
	if pkg := obj.Pkg(); pkg != nil && pkg.Path() != w.im.self {
		b.WriteString(w.im.name(pkg.Path()) + ".")
	}
	b.WriteString(obj.Name())
	if args.Len() == 0 {
		return nil
	}
	b.WriteByte('[')
	for i := range args.Len() {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := w.write(b, args.At(i)); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

func (w *typeWriter) chanType(b *strings.Builder, t *types.Chan) error {
	paren := false
	switch t.Dir() {
	case types.SendOnly:
		b.WriteString("chan<- ")
	case types.RecvOnly:
		b.WriteString("<-chan ")
	default:
		b.WriteString("chan ")
		// chan <-chan T would parse as chan<- chan T.
		if e, ok := t.Elem().(*types.Chan); ok && e.Dir() == types.RecvOnly {
			paren = true
		}
	}
	if paren {
		b.WriteByte('(')
	}
	if err := w.write(b, t.Elem()); err != nil {
		return err
	}
	if paren {
		b.WriteByte(')')
	}
	return nil
}

// signature writes a function type, or a method of an interface when
// keyword is the method's name. Parameter names are left out: they are
// not part of the type.
func (w *typeWriter) signature(b *strings.Builder, sig *types.Signature, keyword string) error {
	b.WriteString(keyword + "(")
	params := sig.Params()
	for i := range params.Len() {
		if i > 0 {
			b.WriteString(", ")
		}
		t := params.At(i).Type()
		if sig.Variadic() && i == params.Len()-1 {
			b.WriteString("...")
			t = t.(*types.Slice).Elem()
		}
		if err := w.write(b, t); err != nil {
			return err
		}
	}
	b.WriteByte(')')
	results := sig.Results()
	switch results.Len() {
	case 0:
		return nil
	case 1:
		b.WriteByte(' ')
		return w.write(b, results.At(0).Type())
	}
	b.WriteString(" (")
	for i := range results.Len() {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := w.write(b, results.At(i).Type()); err != nil {
			return err
		}
	}
	b.WriteByte(')')
	return nil
}

func (w *typeWriter) structType(b *strings.Builder, st *types.Struct) error {
	if st.NumFields() == 0 {
		b.WriteString("struct{}")
		return nil
	}
	w.needsFormat = true
	b.WriteString("struct{ ")
	for i := range st.NumFields() {
		if i > 0 {
			b.WriteString("; ")
		}
		f := st.Field(i)
		if !f.Embedded() {
			b.WriteString(f.Name() + " ")
		}
		if err := w.write(b, f.Type()); err != nil {
			return err
		}
		if tag := st.Tag(i); tag != "" {
			if strconv.CanBackquote(tag) {
				b.WriteString(" `" + tag + "`")
			} else {
				b.WriteString(" " + strconv.Quote(tag))
			}
		}
	}
	b.WriteString(" }")
	return nil
}

func (w *typeWriter) interfaceType(b *strings.Builder, it *types.Interface) error {
	if it.NumEmbeddeds() == 0 && it.NumExplicitMethods() == 0 {
		b.WriteString("interface{}")
		return nil
	}
	w.needsFormat = true
	b.WriteString("interface{ ")
	sep := ""
	for e := range it.EmbeddedTypes() {
		b.WriteString(sep)
		sep = "; "
		if err := w.write(b, e); err != nil {
			return err
		}
	}
	methods := slices.Collect(it.ExplicitMethods())
	slices.SortStableFunc(methods, func(a, b *types.Func) int { return cmp.Compare(a.Name(), b.Name()) })
	for _, m := range methods {
		b.WriteString(sep)
		sep = "; "
		if err := w.signature(b, m.Type().(*types.Signature), m.Name()); err != nil {
			return err
		}
	}
	b.WriteString(" }")
	return nil
}

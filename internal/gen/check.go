package gen

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/internal/placement"
	"golang.org/x/tools/go/packages"
)

// checker turns the directives of one package into its model, reporting
// every problem to c.
type checker struct {
	c    *collector
	fset *token.FileSet
	pkg  *packages.Package

	sources map[string][]byte // file contents read for checksums
}

// readFile returns the contents of a source file, read once; nil when it
// cannot be read (the checksum then prints the declaration instead).
func (k *checker) readFile(name string) []byte {
	if src, ok := k.sources[name]; ok {
		return src
	}
	src, err := os.ReadFile(name)
	if err != nil {
		src = nil
	}
	if k.sources == nil {
		k.sources = map[string][]byte{}
	}
	k.sources[name] = src
	return src
}

// checkPackage returns the model of pkg, or nil when pkg declares no
// changes. Problems are reported to c; the model is only meaningful when
// none were.
func checkPackage(pkg *packages.Package, c *collector) *Package {
	k := &checker{c: c, fset: pkg.Fset, pkg: pkg}
	generated := generatedFile(pkg)
	var sites []site
	var userStage *ast.Ident
	for _, f := range pkg.Syntax {
		if generated != "" && k.fset.Position(f.Pos()).Filename == generated {
			continue // our own output, about to be replaced
		}
		sites = append(sites, scanFile(pkg.Fset, f, c)...)
		if id := declaresStage(f); id != nil && userStage == nil {
			userStage = id
		}
	}
	sites = k.onePerFunction(sites)

	byID := map[string]*Change{}
	var changes []*Change
	for _, s := range sites {
		if s.dir.Kind != annotations.KindChange {
			continue
		}
		ch := k.change(s)
		if prev, dup := byID[ch.ID]; dup {
			c.errorf(ch.IDPos, "change %q: duplicate change id: also declared at %s", ch.ID, c.at(prev.IDPos))
			continue
		}
		byID[ch.ID] = ch
		changes = append(changes, ch)
	}
	for _, s := range sites {
		if s.dir.Kind == annotations.KindRollback {
			k.rollback(s, byID)
		}
	}
	for _, ch := range k.sqlChanges(packageDir(pkg)) {
		if prev, dup := byID[ch.ID]; dup {
			c.errorf(ch.IDPos, "change %q: duplicate change id: also declared at %s", ch.ID, c.at(prev.IDPos))
			continue
		}
		byID[ch.ID] = ch
		changes = append(changes, ch)
	}
	if len(changes) == 0 {
		return nil
	}
	if userStage != nil {
		c.errorf(k.fset.Position(userStage.Pos()), "package %s declares Stage, which flamingock-gen generates in %s; rename it", pkg.PkgPath, OutputName)
	}
	k.sortByOrder(changes)
	for _, ch := range changes {
		if ch.SQL == nil { // an SQL change's checksum is its file's
			ch.Checksum = checksum(k.fset, k.readFile, k.decl(ch.Apply), k.decl(ch.Rollback))
		}
	}
	return &Package{
		Path:        pkg.PkgPath,
		Name:        pkg.Name,
		Dir:         packageDir(pkg),
		Types:       pkg.Types,
		Declared:    k.declared(generated),
		Changes:     changes,
		Fingerprint: fingerprint(changes),
	}
}

// declared returns the package-level names declared outside the earlier
// generated file, so the names the generator picks do not depend on
// whether that file exists.
func (k *checker) declared(generated string) map[string]bool {
	names := map[string]bool{}
	scope := k.pkg.Types.Scope()
	for _, name := range scope.Names() {
		if k.fset.Position(scope.Lookup(name).Pos()).Filename != generated {
			names[name] = true
		}
	}
	return names
}

// declaresStage returns the identifier of a package-level Stage declared
// in f, or nil.
func declaresStage(f *ast.File) *ast.Ident {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == "Stage" {
				return d.Name
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.Name == "Stage" {
						return s.Name
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.Name == "Stage" {
							return n
						}
					}
				}
			}
		}
	}
	return nil
}

// onePerFunction drops and reports every directive after the first on the
// same function.
func (k *checker) onePerFunction(sites []site) []site {
	first := map[*ast.FuncDecl]site{}
	var out []site
	for _, s := range sites {
		if prev, dup := first[s.fn]; dup {
			k.c.errorf(s.pos, "%s%s is the second directive on %s (the first is at %s); a function declares one change or one rollback",
				placement.Subject(s.dir), placement.DirectiveName(s.dir), s.fn.Name.Name, k.c.at(prev.pos))
			continue
		}
		first[s.fn] = s
		out = append(out, s)
	}
	return out
}

// change builds the model of one change directive and checks its
// signature and order. It returns the change even when it is invalid, so
// that rollbacks and duplicates can still refer to it.
func (k *checker) change(s site) *Change {
	spec := s.dir.Change
	ch := &Change{
		ID:            spec.ID,
		Author:        spec.Author,
		Description:   spec.Description,
		Target:        spec.Target,
		Transactional: spec.Transactional,
		Recovery:      cmp.Or(spec.Recovery, annotations.RecoveryManual),
		Pos:           s.pos,
		IDPos:         k.keyPos(s, annotations.KeyID),
		OrderPos:      k.keyPos(s, annotations.KeyOrder),
	}
	declPos := k.fset.Position(s.fn.Pos())
	ch.File = k.moduleRelative(declPos.Filename)
	ch.Line = declPos.Line
	who := fmt.Sprintf("change %q: ", spec.ID)
	ch.Order = k.order(s, who)
	if fn, ok := k.function(s.fn, who); ok {
		ch.Apply = fn
		ch.Needs = fn.Params[1:]
	}
	return ch
}

// keyPos is the position of key in the directive, or of the directive when
// the key is not written.
func (k *checker) keyPos(s site, key string) token.Position {
	if off, ok := s.dir.Change.Keys[key]; ok {
		return k.fset.Position(s.comment.Slash + token.Pos(off))
	}
	return s.pos
}

// order returns the change's order: order= in the directive or the prefix
// of the file name, which must agree when both are given.
func (k *checker) order(s site, who string) string {
	explicit := s.dir.Change.Order
	base := filepath.Base(k.fset.Position(s.file.Pos()).Filename)
	fromName, named := annotations.OrderFromFileName(base)
	switch {
	case explicit != "" && named && annotations.CompareOrders(explicit, fromName) != 0:
		k.c.errorf(k.keyPos(s, annotations.KeyOrder), "%sorder=%s differs from order %s in the file name %s; remove one or make them agree",
			who, explicit, fromName, base)
	case explicit != "":
		return explicit
	case named:
		return fromName
	default:
		k.c.errorf(s.pos, "%sno order: add order=<n> to the directive or name the file with an order prefix, as in 0001_%s",
			who, base)
	}
	return explicit
}

// function checks that fn has the shape of a change function,
// func(context.Context, deps...) error, with dependency types the generated
// file can name. who prefixes messages.
func (k *checker) function(fn *ast.FuncDecl, who string) (*Func, bool) {
	obj, _ := k.pkg.TypesInfo.Defs[fn.Name].(*types.Func)
	if obj == nil {
		return nil, false // a type error, already reported by the loader
	}
	sig := obj.Type().(*types.Signature)
	name := fn.Name.Name
	pos := k.fset.Position(fn.Name.Pos())
	ok := true
	if fn.Type.TypeParams != nil {
		k.c.errorf(k.fset.Position(fn.Type.TypeParams.Pos()), "%s%s has type parameters; a change function cannot be generic", who, name)
		ok = false
	}
	exprs := paramExprs(fn)
	params := sig.Params()
	switch {
	case params.Len() == 0:
		k.c.errorf(k.fset.Position(fn.Type.Params.Pos()), "%s%s has no parameters; the first must be context.Context", who, name)
		ok = false
	case !isContext(params.At(0).Type()):
		k.c.errorf(k.fset.Position(exprs[0].Pos()), "%sthe first parameter of %s must be context.Context, not %s", who, name, k.typeString(params.At(0).Type()))
		ok = false
	}
	if sig.Variadic() {
		last := exprs[len(exprs)-1]
		k.c.errorf(k.fset.Position(last.Pos()), "%s%s is variadic; a change function cannot take a ...%s parameter", who, name,
			k.typeString(params.At(params.Len()-1).Type().(*types.Slice).Elem()))
		ok = false
	}
	if !returnsError(sig) {
		at := pos
		if fn.Type.Results != nil {
			at = k.fset.Position(fn.Type.Results.Pos())
		}
		k.c.errorf(at, "%s%s must return exactly one result, of type error; it returns %s", who, name, k.resultString(sig))
		ok = false
	}
	var all []types.Type
	for i := range params.Len() {
		t := params.At(i).Type()
		if i > 0 {
			if why := k.unnameable(t); why != "" {
				k.c.errorf(k.fset.Position(exprs[i].Pos()), "%sparameter %d of %s has type %s: %s", who, i+1, name, k.typeString(t), why)
				ok = false
			}
		}
		all = append(all, t)
	}
	if !ok {
		return nil, false
	}
	return &Func{Name: name, Pos: pos, Params: all, decl: fn}, true
}

// paramExprs returns the type expression of each parameter, one per
// parameter even where several share a type (a, b *sql.Tx).
func paramExprs(fn *ast.FuncDecl) []ast.Expr {
	var exprs []ast.Expr
	for _, f := range fn.Type.Params.List {
		n := max(len(f.Names), 1)
		for range n {
			exprs = append(exprs, f.Type)
		}
	}
	return exprs
}

func isContext(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
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
		if why == "" && obj.Pkg() != nil && obj.Pkg() != k.pkg.Types && !obj.Exported() {
			why = fmt.Sprintf("%s is unexported in package %s, so the generated registry cannot refer to it; export it or use a type of this package",
				obj.Name(), obj.Pkg().Path())
		}
	})
	return why
}

// walkNamed calls f for every named type or alias that writing t mentions.
func walkNamed(t types.Type, f func(*types.TypeName)) {
	walkTypes(t, func(t types.Type) {
		switch t := t.(type) {
		case *types.Alias:
			f(t.Obj())
		case *types.Named:
			f(t.Obj())
		}
	})
}

// walkTypes calls f for t and every type that writing t mentions: type
// arguments, elements, keys, parameters, results, fields, methods and
// embedded interfaces, but not what a named type or alias stands for.
func walkTypes(t types.Type, f func(types.Type)) {
	f(t)
	switch t := t.(type) {
	case *types.Alias:
		for a := range t.TypeArgs().Types() {
			walkTypes(a, f)
		}
	case *types.Named:
		for a := range t.TypeArgs().Types() {
			walkTypes(a, f)
		}
	case *types.Pointer:
		walkTypes(t.Elem(), f)
	case *types.Slice:
		walkTypes(t.Elem(), f)
	case *types.Array:
		walkTypes(t.Elem(), f)
	case *types.Chan:
		walkTypes(t.Elem(), f)
	case *types.Map:
		walkTypes(t.Key(), f)
		walkTypes(t.Elem(), f)
	case *types.Signature:
		for v := range t.Params().Variables() {
			walkTypes(v.Type(), f)
		}
		for v := range t.Results().Variables() {
			walkTypes(v.Type(), f)
		}
	case *types.Struct:
		for v := range t.Fields() {
			walkTypes(v.Type(), f)
		}
	case *types.Interface:
		for m := range t.ExplicitMethods() {
			walkTypes(m.Type(), f)
		}
		for e := range t.EmbeddedTypes() {
			walkTypes(e, f)
		}
	}
}

// typeString writes t as it would appear in the package's own source.
func (k *checker) typeString(t types.Type) string {
	return types.TypeString(t, k.qualifier)
}

func (k *checker) qualifier(p *types.Package) string {
	if p == k.pkg.Types {
		return ""
	}
	return p.Name()
}

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

// rollback pairs a rollback directive with its change.
func (k *checker) rollback(s site, byID map[string]*Change) {
	id := s.dir.Rollback.ID
	who := fmt.Sprintf("rollback of %q: ", id)
	fn, ok := k.function(s.fn, who)
	ch := byID[id]
	switch {
	case ch == nil:
		k.c.errorf(k.fset.Position(s.comment.Slash+token.Pos(s.dir.Rollback.IDOffset)),
			"%sno change with id %q in package %s; a rollback must be in the same package as its change", who, id, k.pkg.PkgPath)
	case ch.Rollback != nil:
		k.c.errorf(s.pos, "%s%s is a second rollback of change %q; %s (%s) already undoes it",
			who, s.fn.Name.Name, id, ch.Rollback.Name, k.c.at(ch.Rollback.Pos))
	case !ok || ch.Apply == nil:
		// The signature problems are reported; comparing would only repeat them.
	case !sameTypes(fn.Params, ch.Apply.Params):
		k.c.errorf(k.fset.Position(s.fn.Type.Params.Pos()), "%s%s takes %s but change %s takes %s; a rollback must take the same parameters as its change",
			who, fn.Name, k.paramsString(fn.Params), ch.Apply.Name, k.paramsString(ch.Apply.Params))
	default:
		ch.Rollback = fn
	}
}

func sameTypes(a, b []types.Type) bool {
	return slices.EqualFunc(a, b, types.Identical)
}

// sortByOrder sorts changes by order and reports orders that collide.
// Changes with the same order keep their source order, so the report
// names the earlier one as the first.
func (k *checker) sortByOrder(changes []*Change) {
	slices.SortStableFunc(changes, func(a, b *Change) int {
		return cmp.Or(annotations.CompareOrders(a.Order, b.Order), comparePos(a.Pos, b.Pos))
	})
	for i := 1; i < len(changes); i++ {
		prev, ch := changes[i-1], changes[i]
		if ch.Order != "" && prev.Order != "" && annotations.CompareOrders(prev.Order, ch.Order) == 0 {
			k.c.errorf(ch.OrderPos, "change %q: order %s collides with order %s of change %q at %s; orders within a package must differ",
				ch.ID, ch.Order, prev.Order, prev.ID, k.c.at(prev.OrderPos))
		}
	}
}

func comparePos(a, b token.Position) int {
	return cmp.Or(cmp.Compare(a.Filename, b.Filename), cmp.Compare(a.Offset, b.Offset))
}

// decl returns the declaration of a model function, or nil.
func (k *checker) decl(fn *Func) *ast.FuncDecl {
	if fn == nil {
		return nil
	}
	return fn.decl
}

// moduleRelative returns filename relative to the module root with
// forward slashes, the form recorded in the registry: stable across
// machines and checkouts.
func (k *checker) moduleRelative(filename string) string {
	root := ""
	if k.pkg.Module != nil {
		root = k.pkg.Module.Dir
	}
	if root != "" {
		if rel, err := filepath.Rel(root, filename); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(filename)
}

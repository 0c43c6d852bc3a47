package gen

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/internal/rules"
	"golang.org/x/tools/go/packages"
)

// checker turns the directives of one package into its model, reporting
// every problem to c. The rules themselves are in internal/rules, shared
// with the analyzer.
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
	found := rules.Check(rules.Package{
		Fset:  pkg.Fset,
		Types: pkg.Types,
		Info:  pkg.TypesInfo,
		Files: k.sourceFiles(generated),
		Other: k.otherFiles(),
		Read:  k.readFile,
	}, func(d rules.Diagnostic) {
		c.errorf(k.pos(d.Pos), "%s", d.Msg)
	})
	changes := make([]*Change, 0, len(found.Changes))
	byID := map[string]*Change{}
	for _, rc := range found.Changes {
		ch := k.change(rc)
		byID[ch.ID] = ch
		changes = append(changes, ch)
	}
	// SQL-file changes join the Go changes the rules found: the rules check
	// Go against Go, so ids and orders shared with an SQL file are checked
	// here.
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
	slices.SortStableFunc(changes, func(a, b *Change) int {
		return cmp.Or(annotations.CompareOrders(a.Order, b.Order), comparePos(a.Pos, b.Pos))
	})
	for i := 1; i < len(changes); i++ {
		prev, ch := changes[i-1], changes[i]
		if (ch.SQL != nil || prev.SQL != nil) && ch.Order != "" && prev.Order != "" && annotations.CompareOrders(prev.Order, ch.Order) == 0 {
			c.errorf(ch.OrderPos, "change %q: order %s collides with order %s of change %q at %s; orders within a package must differ",
				ch.ID, ch.Order, prev.Order, prev.ID, c.at(prev.OrderPos))
		}
	}
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

// change builds the model of one change the rules found.
func (k *checker) change(rc *rules.Change) *Change {
	spec := rc.Directive.Change
	ch := &Change{
		ID:            rc.ID,
		Order:         rc.Order,
		Author:        spec.Author,
		Description:   spec.Description,
		Target:        spec.Target,
		Transactional: spec.Transactional,
		Recovery:      cmp.Or(spec.Recovery, annotations.RecoveryManual),
		Pos:           k.pos(rc.Comment.Slash),
		IDPos:         k.pos(rc.KeyPos(annotations.KeyID)),
		OrderPos:      k.pos(rc.KeyPos(annotations.KeyOrder)),
	}
	declPos := k.pos(rc.Func.Pos())
	ch.File = k.moduleRelative(declPos.Filename)
	ch.Line = declPos.Line
	ch.Apply = k.function(rc.Func, rc.Params)
	if ch.Apply != nil {
		ch.Needs = ch.Apply.Params[1:]
	}
	if rb := rc.Rollback; rb != nil {
		ch.Rollback = k.function(rb.Func, rb.Params)
	}
	return ch
}

// function is the model of a user function the registry calls; nil when
// its signature was rejected.
func (k *checker) function(fn *ast.FuncDecl, params []types.Type) *Func {
	if params == nil {
		return nil
	}
	return &Func{Name: fn.Name.Name, Pos: k.pos(fn.Name.Pos()), Params: params, decl: fn}
}

// pos returns the position of p in the file as it is on disk. Positions
// are never adjusted by //line directives: file names, order prefixes,
// checksums and messages are about the file the user edits.
func (k *checker) pos(p token.Pos) token.Position {
	return k.fset.PositionFor(p, false)
}

// sourceFiles returns the syntax of the package's own Go files, as written
// (its earlier generated file excluded). The files cgo writes for a
// package that imports "C" are left out: they are not what the user wrote
// (their declarations are rewritten, and cgo adds files of its own), and
// the user's files behind them are constrained (see [otherFiles]).
func (k *checker) sourceFiles(generated string) []*ast.File {
	own := map[string]bool{}
	for _, name := range k.pkg.GoFiles {
		own[name] = true
	}
	var out []*ast.File
	for _, f := range k.pkg.Syntax {
		name := k.pos(f.Pos()).Filename
		if name != generated && own[name] {
			out = append(out, f)
		}
	}
	return out
}

// otherFiles returns the Go files of the package that were not loaded as
// written: the files the go command leaves out of this build (another
// GOOS, a tag not given, cgo disabled) and the cgo files it loaded only
// through cgo's output. None may declare changes.
func (k *checker) otherFiles() []string {
	loaded := map[string]bool{}
	for _, f := range k.pkg.Syntax {
		loaded[k.pos(f.Pos()).Filename] = true
	}
	var out []string
	for _, name := range k.pkg.GoFiles {
		if !loaded[name] {
			out = append(out, name)
		}
	}
	for _, name := range k.pkg.IgnoredFiles {
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			out = append(out, name)
		}
	}
	return out
}

// declared returns the package-level names declared in the user's files
// (the earlier generated file excluded), so the names the generator picks
// do not depend on whether that file exists. Names cgo declares for a
// package that imports "C" (_Cfunc_..., _cgo_...) are left out: they
// depend on the C code and would make an edit to a C comment change the
// registry's digest. They cannot clash with the generator's names, which
// never start with an underscore.
func (k *checker) declared(generated string) map[string]bool {
	own := map[string]bool{}
	for _, name := range k.pkg.GoFiles {
		own[name] = name != generated
	}
	names := map[string]bool{}
	scope := k.pkg.Types.Scope()
	for _, name := range scope.Names() {
		p := scope.Lookup(name).Pos()
		// cgo's rewrite of a user file points back at it with //line.
		if own[k.pos(p).Filename] || own[k.fset.Position(p).Filename] {
			names[name] = true
		}
	}
	return names
}

// walkTypes is [rules.WalkTypes], for typeexpr.go.
func walkTypes(t types.Type, f func(types.Type)) { rules.WalkTypes(t, f) }

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

package gen

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"strconv"
	"strings"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// The checks in this file run on the rendered registry, before anything is
// written. clashes rejects, with positions, the user's declarations that
// make the registry fail to compile; compile is the net under it and under
// every rule of check.go: a rendered file that does not type-check with
// its package is never written, whatever the reason.

// registryNames returns the names the rendered file declares at package
// scope and the predeclared identifiers (make, append, nil, error, ...)
// it relies on.
func registryNames(file *ast.File) (declared, predeclared []string) {
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				declared = append(declared, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					declared = append(declared, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						declared = append(declared, n.Name)
					}
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, id := range file.Unresolved {
		if !seen[id.Name] && types.Universe.Lookup(id.Name) != nil {
			seen[id.Name] = true
			predeclared = append(predeclared, id.Name)
		}
	}
	return declared, predeclared
}

// clashes reports the user's declarations that stop the rendered registry
// of pkg from compiling. A file-scope name (an import, or a name a dot
// import brings in) equal to a name the registry declares at package scope
// is always looked for: type-checking the registry alone does not see it.
// When the registry did not compile (failed), so are package-scope names
// that shadow a predeclared identifier the registry uses. generated is
// the earlier generated file, whose own declarations do not count.
func (k *checker) clashes(file *ast.File, src []byte, generated string, failed bool) {
	var predeclared []string
	if failed {
		// Parsed again, with the parser's resolution, which tells the
		// identifiers that are not declared in the file.
		if resolved, err := parser.ParseFile(token.NewFileSet(), "", src, 0); err == nil {
			_, predeclared = registryNames(resolved)
		}
	}
	declared, _ := registryNames(file)
	scope := k.pkg.Types.Scope()
	for _, name := range predeclared {
		obj := scope.Lookup(name)
		if obj == nil || k.pos(obj.Pos()).Filename == generated {
			continue
		}
		k.c.errorf(k.pos(obj.Pos()), "package %s declares %s, which shadows the predeclared %s that the generated %s uses; rename it",
			k.pkg.Name, name, name, OutputName)
	}
	for _, f := range k.sourceFiles(generated) {
		for _, spec := range f.Imports {
			pkgName := k.importName(spec)
			if pkgName == nil {
				continue
			}
			for _, name := range declared {
				switch {
				case spec.Name != nil && spec.Name.Name == ".":
					if obj := pkgName.Imported().Scope().Lookup(name); obj != nil && obj.Exported() {
						k.c.errorf(k.pos(spec.Pos()), "the dot import of %s brings %s into this file, which clashes with the %s that flamingock-gen declares in %s; import the package with a name",
							spec.Path.Value, name, name, OutputName)
					}
				case pkgName.Name() == name:
					k.c.errorf(k.pos(spec.Pos()), "the import name %s clashes with the %s that flamingock-gen declares in %s; import %s under another name",
						name, name, OutputName, spec.Path.Value)
				}
			}
		}
	}
}

// importName returns the package name an import declares in its file.
func (k *checker) importName(spec *ast.ImportSpec) *types.PkgName {
	if spec.Name != nil {
		if obj, ok := k.pkg.TypesInfo.Defs[spec.Name].(*types.PkgName); ok {
			return obj
		}
	}
	obj, _ := k.pkg.TypesInfo.Implicits[spec].(*types.PkgName)
	return obj
}

// compile type-checks the rendered registry src of pkg together with the
// package's own declarations (those of the earlier generated file left
// out), and returns the first errors, or nil when it compiles.
//
// Only the new file is checked: the package's objects, already checked by
// the load, are put in a fresh package scope, so the cost is that of the
// registry alone. Imports resolve to the very packages the load used, so
// that the types the registry names are identical to the user's.
func compile(pkg *packages.Package, generated, path string, src []byte, imp *registryImporter) (*ast.File, error) {
	file, err := parser.ParseFile(pkg.Fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	check := types.NewPackage(pkg.PkgPath, pkg.Name)
	scope := pkg.Types.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if pkg.Fset.PositionFor(obj.Pos(), false).Filename != generated {
			check.Scope().Insert(obj)
		}
	}
	var errs []error
	conf := types.Config{
		Importer: imp.forPackage(pkg),
		Error: func(err error) {
			if len(errs) < 3 {
				errs = append(errs, err)
			}
		},
	}
	types.NewChecker(&conf, pkg.Fset, check, nil).Files([]*ast.File{file})
	if len(errs) > 0 {
		return file, fmt.Errorf("%v", errs)
	}
	return file, nil
}

// registryImporter resolves the imports of rendered registries to the
// packages the load type-checked the user's code against. A package the
// user's code does not reach is read from export data into the same map,
// so that the types it shares with the user's code (context.Context) are
// the same objects; the export files are located once per run, with one
// go list. The runtime, which the user's code need not import before the
// first generation, comes from the load itself (see load).
type registryImporter struct {
	ctx     context.Context
	cfg     Config
	runtime *types.Package    // loaded with the user's packages, or nil
	exports map[string]string // import path to export file
}

func newRegistryImporter(ctx context.Context, cfg Config, runtime *types.Package) *registryImporter {
	return &registryImporter{ctx: ctx, cfg: cfg, runtime: runtime, exports: map[string]string{}}
}

// forPackage returns an importer for the registry of pkg.
func (r *registryImporter) forPackage(pkg *packages.Package) types.Importer {
	known := map[string]*types.Package{}
	var add func(p *types.Package)
	add = func(p *types.Package) {
		if _, ok := known[p.Path()]; ok {
			return
		}
		known[p.Path()] = p
		for _, dep := range p.Imports() {
			add(dep)
		}
	}
	for _, p := range pkg.Types.Imports() {
		add(p)
	}
	if r.runtime != nil {
		add(r.runtime)
	}
	return importerFunc(func(path string) (*types.Package, error) {
		if p, ok := known[path]; ok && p.Complete() {
			return p, nil
		}
		return r.read(pkg.Fset, known, path)
	})
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// read reads the export data of path into known.
func (r *registryImporter) read(fset *token.FileSet, known map[string]*types.Package, path string) (*types.Package, error) {
	file, ok := r.exports[path]
	if !ok {
		pc := &packages.Config{Mode: packages.NeedName | packages.NeedExportFile, Context: r.ctx, Dir: r.cfg.Dir, Env: r.cfg.Env}
		if len(r.cfg.Tags) > 0 {
			pc.BuildFlags = []string{"-tags=" + strings.Join(r.cfg.Tags, ",")}
		}
		loaded, err := packages.Load(pc, path)
		if err != nil {
			return nil, err
		}
		if len(loaded) == 1 {
			file = loaded[0].ExportFile
		}
		r.exports[path] = file
	}
	if file == "" {
		return nil, fmt.Errorf("cannot find package %s (is it required by the module?)", strconv.Quote(path))
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := gcexportdata.NewReader(f)
	if err != nil {
		return nil, err
	}
	return gcexportdata.Read(rd, fset, known, path)
}

// verifyRendered reports what stops f, a freshly rendered registry of
// pkg, from compiling: the user's clashing declarations, with positions,
// or else any type error of the file.
func verifyRendered(pkg *packages.Package, f File, imp *registryImporter, c *collector) {
	generated := generatedFile(pkg)
	k := &checker{c: c, fset: pkg.Fset, pkg: pkg}
	before := len(c.diags)
	file, err := compile(pkg, generated, f.Path, f.Want, imp)
	if file != nil {
		k.clashes(file, f.Want, generated, err != nil)
	}
	if err != nil && len(c.diags) == before {
		c.errorf(token.Position{Filename: f.Path},
			"the registry rendered for package %s does not compile: %v; nothing was written (a flamingock-gen bug: please report it with the package)", pkg.PkgPath, err)
	}
}

// verifyCurrent reports the user's imports that clash with f, a registry
// on disk that is current. The rest needs no check: the package's names
// are part of the digest, so a new declaration makes the file render (and
// compile) again.
func verifyCurrent(pkg *packages.Package, f File, c *collector) {
	file, err := parser.ParseFile(pkg.Fset, f.Path, f.Have, parser.SkipObjectResolution)
	if err != nil {
		return // current means it is what emit wrote; emit writes valid Go
	}
	k := &checker{c: c, fset: pkg.Fset, pkg: pkg}
	k.clashes(file, f.Have, generatedFile(pkg), false)
}

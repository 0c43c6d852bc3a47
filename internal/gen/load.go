package gen

import (
	"context"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// loadMode asks go/packages for the syntax and types of the named packages
// only. Without NeedDeps, imported packages come from export data instead
// of being parsed and type-checked from source, which is what keeps the
// generator close to the cost of type-checking the user's own code.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
	packages.NeedTypes | packages.NeedTypesInfo | packages.NeedModule

// ExcludeTag is the build tag the generator always loads with. The
// generated file is constrained to !ExcludeTag, so the generator never
// type-checks its own earlier output: a stale registry that no longer
// compiles (a function renamed, a parameter changed) cannot stop the
// generator from writing the fresh one.
const ExcludeTag = "flamingockgen"

// load loads the packages matching patterns. Problems with the packages
// (missing files, syntax and type errors) are added to c; the error return
// is for failures of the build system itself.
func load(ctx context.Context, cfg Config, c *collector) ([]*packages.Package, error) {
	pc := &packages.Config{
		Mode:       loadMode,
		Context:    ctx,
		Dir:        cfg.Dir,
		Env:        cfg.Env,
		BuildFlags: []string{"-tags=" + strings.Join(append(slices.Clone(cfg.Tags), ExcludeTag), ",")},
	}
	patterns := cfg.Patterns
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	pkgs, err := packages.Load(pc, patterns...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(pkgs, func(a, b *packages.Package) int { return strings.Compare(a.PkgPath, b.PkgPath) })
	for _, p := range pkgs {
		for _, e := range p.Errors {
			if e.Kind == packages.ListError && strings.HasPrefix(e.Msg, "# ") && hasSourceErrors(p) {
				// The go command's own compile of the package (for
				// export data) failed on the same errors the parser
				// or type checker reports with positions.
				continue
			}
			c.diags = append(c.diags, loadDiagnostic(p, e, cfg.Dir))
		}
	}
	if len(pkgs) == 0 {
		c.errorf(token.Position{}, "patterns %s matched no packages", strings.Join(patterns, " "))
	}
	return pkgs, nil
}

func hasSourceErrors(p *packages.Package) bool {
	return slices.ContainsFunc(p.Errors, func(e packages.Error) bool { return e.Kind != packages.ListError })
}

// errPos matches the "file:line:col" or "file:line" go/packages puts in
// Error.Pos.
var errPos = regexp.MustCompile(`^(.+?):(\d+)(?::(\d+))?$`)

func loadDiagnostic(p *packages.Package, e packages.Error, dir string) Diagnostic {
	m := errPos.FindStringSubmatch(e.Pos)
	if m == nil {
		msg := e.Msg
		if p.PkgPath != "" && !strings.Contains(msg, p.PkgPath) {
			msg = p.PkgPath + ": " + msg
		}
		return Diagnostic{Msg: msg}
	}
	file := m[1]
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	return Diagnostic{Pos: token.Position{Filename: file, Line: line, Column: col}, Msg: e.Msg}
}

// packageDir returns the directory of a loaded package.
func packageDir(p *packages.Package) string {
	if p.Dir != "" {
		return p.Dir
	}
	for _, files := range [][]string{p.GoFiles, p.CompiledGoFiles, p.IgnoredFiles, p.OtherFiles} {
		if len(files) > 0 {
			return filepath.Dir(files[0])
		}
	}
	return ""
}

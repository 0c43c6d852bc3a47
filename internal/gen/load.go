package gen

import (
	"context"
	"go/token"
	"go/types"
	"io"
	"os"
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

// load loads the packages matching patterns. Problems with the packages
// (missing files, syntax and type errors) are added to c; the error return
// is for failures of the build system itself.
//
// runtime is the flamingock runtime package, loaded with them (nil when
// it did not load: the module does not require it, say). When the
// patterns match the runtime itself, it is not generated: it declares no
// changes.
func load(ctx context.Context, cfg Config, c *collector) (pkgs []*packages.Package, runtime *types.Package, err error) {
	pc := &packages.Config{
		Mode:    loadMode,
		Context: ctx,
		Dir:     cfg.Dir,
		Env:     cfg.Env,
	}
	if len(cfg.Tags) > 0 {
		pc.BuildFlags = []string{"-tags=" + strings.Join(cfg.Tags, ",")}
	}
	patterns := packagePatterns(cfg.Dir, cfg.Patterns)
	// The runtime is loaded with the packages, so that every rendered
	// registry can be type-checked against it (verify.go) with the very
	// types the user's code was checked with, at the cost of one more
	// small package in the same go list, not a second go list.
	withRuntime := !slices.Contains(patterns, RuntimePath)
	if withRuntime {
		patterns = append(slices.Clip(patterns), RuntimePath)
	}
	pkgs, err = packages.Load(pc, patterns...)
	if err != nil {
		return nil, nil, err
	}
	if overlay := renamedPackages(pkgs); overlay != nil {
		// Load again with the stale registries reduced to their new
		// package clause: the run replaces them anyway.
		pc.Overlay = overlay
		if pkgs, err = packages.Load(pc, patterns...); err != nil {
			return nil, nil, err
		}
	}
	if withRuntime {
		patterns = patterns[:len(patterns)-1]
		i := slices.IndexFunc(pkgs, func(p *packages.Package) bool { return p.PkgPath == RuntimePath })
		if i >= 0 {
			if len(pkgs[i].Errors) == 0 {
				runtime = pkgs[i].Types
			}
			pkgs = slices.Delete(pkgs, i, i+1)
		}
	}
	slices.SortFunc(pkgs, func(a, b *packages.Package) int { return strings.Compare(a.PkgPath, b.PkgPath) })
	for _, p := range pkgs {
		p.Errors = relevantErrors(p)
		for _, e := range p.Errors {
			c.diags = append(c.diags, loadDiagnostic(p, e, cfg.Dir))
		}
	}
	if len(pkgs) == 0 {
		c.errorf(token.Position{}, "patterns %s matched no packages", strings.Join(patterns, " "))
	}
	return pkgs, runtime, nil
}

// foundPackages matches the go command's error for a directory whose
// files declare two packages.
var foundPackages = regexp.MustCompile(`found packages (\w+) \(([^)]+)\) and (\w+) \(([^)]+)\) in (.+)$`)

// renamedPackages finds the packages whose files were renamed to another
// package clause while their generated file, ours, still has the old one:
// the go command refuses such a directory, which would block the very run
// that rewrites the file. It returns an overlay that gives each such
// generated file the package clause of the user's files, or nil.
func renamedPackages(pkgs []*packages.Package) map[string][]byte {
	var overlay map[string][]byte
	for _, p := range pkgs {
		for _, e := range p.Errors {
			m := foundPackages.FindStringSubmatch(e.Msg)
			if m == nil {
				continue
			}
			name := ""
			switch OutputName {
			case m[2]:
				name = m[3]
			case m[4]:
				name = m[1]
			default:
				continue
			}
			path := filepath.Join(m[5], OutputName)
			if !startsWithHeader(path) {
				continue
			}
			if overlay == nil {
				overlay = map[string][]byte{}
			}
			overlay[path] = []byte(Header + "\n\npackage " + name + "\n")
		}
	}
	return overlay
}

// packagePatterns returns the patterns to load: "." when there are none,
// and each argument naming a .go file replaced by the package in its
// directory. A file argument (go generate's $GOFILE) would otherwise load
// an ad-hoc package, "command-line-arguments", holding only the named
// files: a registry with some of the package's changes, under the wrong
// stage name.
func packagePatterns(dir string, args []string) []string {
	if len(args) == 0 {
		return []string{"."}
	}
	var out []string
	for _, a := range args {
		if strings.HasSuffix(a, ".go") {
			path := a
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			if st, err := os.Stat(path); err == nil && !st.IsDir() {
				a = filepath.Dir(a)
				if !filepath.IsAbs(a) && !strings.HasPrefix(a, ".") {
					a = "./" + filepath.ToSlash(a)
				}
			}
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// relevantErrors returns the errors of p that are the user's to fix.
//
// The package is loaded together with its earlier generated file, so that
// packages calling Stage type-check; before the first generation, calls to
// Stage are undefined, and those errors are dropped too. That file may be stale to the point
// of not compiling (it calls a function that was renamed): its errors are
// dropped, since the file is about to be replaced, and so is the go
// command's summary of the failed compile ("# pkg ...": go/packages
// compiles packages for export data), which repeats errors reported with
// positions anyway.
func relevantErrors(p *packages.Package) []packages.Error {
	generated := generatedFile(p)
	positioned := false
	var kept []packages.Error
	for _, e := range p.Errors {
		if e.Kind != packages.ListError {
			positioned = true
		}
		if generated != "" && (strings.HasPrefix(e.Pos, generated+":") || strings.HasPrefix(e.Msg, "Stage redeclared")) {
			continue // Stage redeclared: reported by the check for a user's Stage
		}
		if generated == "" && missingStage.MatchString(e.Msg) {
			continue // code that calls the Stage this run is about to write
		}
		kept = append(kept, e)
	}
	out := kept[:0]
	for _, e := range kept {
		if e.Kind == packages.ListError && strings.HasPrefix(e.Msg, "# ") && positioned {
			continue
		}
		out = append(out, e)
	}
	return out
}

// missingStage matches the type error of code that calls a package's
// Stage before its first registry exists: package main with changes of its
// own, say. The first run must not be refused for it.
var missingStage = regexp.MustCompile(`^undefined: (\w+\.)?Stage$`)

// generatedFile returns the path of p's flamingock_gen.go when it carries
// the generator's header, else "".
func generatedFile(p *packages.Package) string {
	for _, f := range p.GoFiles {
		if filepath.Base(f) != OutputName {
			continue
		}
		if startsWithHeader(f) {
			return f
		}
	}
	return ""
}

// startsWithHeader reports whether the file at path starts with the
// generator's header line. It reads only as much as the line needs.
func startsWithHeader(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(Header)+2) // the line and "\n", or "\r\n"
	n, _ := io.ReadFull(f, buf)
	return isOurs(buf[:n])
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

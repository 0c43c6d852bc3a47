package placement

import (
	"go/ast"
	"go/build/constraint"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The GOOS and GOARCH values a file-name suffix can name (go tool dist
// list), which make the go command build the file only for that system.
var (
	knownOS = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
		"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"}
	knownArch = []string{"386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips",
		"mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv",
		"riscv64", "s390", "s390x", "sparc", "sparc64", "wasm"}
)

// Constraint says why the file named filename, parsed as f (with
// comments), is not compiled in every build of its package, or returns ""
// when it is. The reasons are the three the go command knows: a //go:build
// (or // +build) line, a GOOS or GOARCH file-name suffix, and import "C",
// which builds the file only with cgo enabled.
//
// Changes must not live in such files: the registry that lists them is
// compiled in every build, so in a build without the file it would name a
// function that does not exist.
//
// goVersion is the package's Go version ("go1.26", from go.mod; "" when
// unknown): a constraint that holds in every build the module allows, such
// as //go:build go1.21 in a go 1.26 module, does not count.
func Constraint(f *ast.File, filename, goVersion string) string {
	for _, group := range f.Comments {
		if group.Pos() >= f.Package {
			break
		}
		for _, cm := range group.List {
			if !constraint.IsGoBuild(cm.Text) && !constraint.IsPlusBuild(cm.Text) {
				continue
			}
			if expr, err := constraint.Parse(cm.Text); err == nil && alwaysHolds(expr, goVersion) {
				continue
			}
			return "a build constraint (" + strings.TrimSpace(cm.Text) + ")"
		}
	}
	if suffix := osArchSuffix(filepath.Base(filename)); suffix != "" {
		return "the file-name suffix " + suffix + ", which builds it only there"
	}
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); path == "C" {
			return `import "C", which builds it only with cgo enabled`
		}
	}
	return ""
}

// alwaysHolds reports whether expr is true in every build of a module
// whose go directive is goVersion: with every Go release tag up to that
// version set, and every assignment of the other tags (at most 8 of them;
// more are taken to be a real constraint).
func alwaysHolds(expr constraint.Expr, goVersion string) bool {
	minor, ok := goMinor(goVersion)
	if !ok {
		return false
	}
	var others []string
	var walk func(constraint.Expr)
	walk = func(x constraint.Expr) {
		switch x := x.(type) {
		case *constraint.AndExpr:
			walk(x.X)
			walk(x.Y)
		case *constraint.OrExpr:
			walk(x.X)
			walk(x.Y)
		case *constraint.NotExpr:
			walk(x.X)
		case *constraint.TagExpr:
			if _, isRelease := goMinor(x.Tag); !isRelease && !slices.Contains(others, x.Tag) {
				others = append(others, x.Tag)
			}
		}
	}
	walk(expr)
	if len(others) > 8 {
		return false
	}
	for set := 0; set < 1<<len(others); set++ {
		holds := expr.Eval(func(tag string) bool {
			if m, isRelease := goMinor(tag); isRelease {
				return m <= minor
			}
			return set&(1<<slices.Index(others, tag)) != 0
		})
		if !holds {
			return false
		}
	}
	return true
}

// goMinor returns N of a Go release tag "go1.N".
func goMinor(tag string) (int, bool) {
	rest, ok := strings.CutPrefix(tag, "go1.")
	if !ok {
		return 0, false
	}
	rest, _, _ = strings.Cut(rest, ".") // go1.26.1: the patch release does not matter
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// osArchSuffix returns the _GOOS, _GOARCH or _GOOS_GOARCH suffix of a Go
// file name, as the go command reads it, or "".
func osArchSuffix(name string) string {
	name = strings.TrimSuffix(name, ".go")
	name = strings.TrimSuffix(name, "_test")
	parts := strings.Split(name, "_")
	n := len(parts)
	if n < 2 {
		return "" // the go command needs a prefix before the first _
	}
	if n >= 3 && slices.Contains(knownOS, parts[n-2]) && slices.Contains(knownArch, parts[n-1]) {
		return "_" + parts[n-2] + "_" + parts[n-1]
	}
	if slices.Contains(knownOS, parts[n-1]) || slices.Contains(knownArch, parts[n-1]) {
		return "_" + parts[n-1]
	}
	return ""
}

// ConstrainedMessage is the message for a directive found in a file that
// [Constraint] describes with why. who and name are as in [Check]; fn is
// the function's name.
func ConstrainedMessage(who, name, fn, why string) string {
	return who + name + " on " + fn + " is in a file with " + why +
		"; the registry is compiled in every build, so changes and rollbacks must be in files without //go:build lines, " +
		`GOOS/GOARCH file-name suffixes or import "C": move ` + fn + " to such a file (it may call code in constrained files)"
}

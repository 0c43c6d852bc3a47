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
func Constraint(f *ast.File, filename string) string {
	for _, group := range f.Comments {
		if group.Pos() >= f.Package {
			break
		}
		for _, cm := range group.List {
			if constraint.IsGoBuild(cm.Text) || constraint.IsPlusBuild(cm.Text) {
				return "a build constraint (" + strings.TrimSpace(cm.Text) + ")"
			}
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

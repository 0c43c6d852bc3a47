package lint_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/annotations/lint"
	"github.com/flamingock/flamingock-go/internal/gen"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/txtar"
)

// generatorOnly marks the generator's diagnostics that are not rules of
// the package's directives, so the analyzer does not repeat them: ids
// unique across the packages of one invocation (the analyzer sees ids
// only along imports, as facts), the output file being someone else's,
// and the checks of the rendered registry.
var generatorOnly = []string{
	"ids must be unique across all stages",
	"was not written by flamingock-gen",
	"that the generated flamingock_gen.go uses",
	"that flamingock-gen declares in flamingock_gen.go",
}

// TestAnalyzerMatchesGenerator runs the analyzer on the module of every
// error golden of the generator (testdata/gen/err_*.txtar) and requires
// the analyzer's errors to be exactly the generator's: same message, same
// file, line and column. Cases whose packages do not load are the go
// command's to report and are left out.
func TestAnalyzerMatchesGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a module per golden case")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	archives, err := filepath.Glob(filepath.Join(root, "testdata", "gen", "err_*.txtar"))
	if err != nil || len(archives) == 0 {
		t.Fatalf("no error goldens: %v", err)
	}
	for _, path := range archives {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) { checkParity(t, root, path) })
	}
}

func checkParity(t *testing.T, root, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var want []string
	for _, f := range ar.Files {
		if f.Name == "want/errors.txt" {
			for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				// The analyzer reads Go: what the generator says about
				// SQL-file changes is its own.
				file, _, _ := strings.Cut(line, ":")
				if !strings.HasPrefix(line, "flamingock-gen: ") && !containsAny(line, generatorOnly) && !strings.HasSuffix(file, ".sql") {
					want = append(want, line)
				}
			}
			continue
		}
		data := f.Data
		if f.Name == "go.mod" {
			data = fmt.Appendf(slices.Clone(data), "\nrequire github.com/flamingock/flamingock-go v0.0.0\n\nreplace github.com/flamingock/flamingock-go => %s\n", root)
		}
		writeFile(t, filepath.Join(dir, filepath.FromSlash(f.Name)), data)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.sum"), sum)

	var args []string
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if rest, ok := strings.CutPrefix(line, "args:"); ok {
			args = strings.Fields(rest)
		}
	}
	cfg := &packages.Config{Mode: packages.LoadAllSyntax | packages.NeedModule, Dir: dir,
		Env: append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")}
	patterns := []string{"./..."}
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-tags" && i+1 < len(args):
			cfg.BuildFlags = []string{"-tags=" + args[i+1]}
			i++
		case !strings.HasPrefix(args[i], "-"):
			patterns = args[i:]
			i = len(args)
		}
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	// A package that does not load is the go command's to report: the
	// comparison covers the others.
	var loaded []*packages.Package
	var broken []string
	for _, p := range pkgs {
		if len(p.Errors) > 0 || len(p.GoFiles) == 0 {
			if len(p.GoFiles) > 0 {
				rel, _ := filepath.Rel(dir, filepath.Dir(p.GoFiles[0]))
				broken = append(broken, filepath.ToSlash(rel)+"/")
			}
			continue
		}
		loaded = append(loaded, p)
	}
	if len(loaded) == 0 {
		t.Skip("no package loads: the go command reports the problems")
	}
	want = slices.DeleteFunc(want, func(line string) bool {
		return slices.ContainsFunc(broken, func(prefix string) bool { return strings.HasPrefix(line, prefix) })
	})
	graph, err := checker.Analyze([]*analysis.Analyzer{lint.Analyzer}, loaded, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, act := range graph.Roots {
		if act.Err != nil {
			t.Fatalf("%s: %v", act.Package.PkgPath, act.Err)
		}
		for _, d := range act.Diagnostics {
			if !blocking[d.Category] || containsAny(d.Message, generatorOnly) {
				continue
			}
			pos := act.Package.Fset.Position(d.Pos)
			rel, _ := filepath.Rel(dir, pos.Filename)
			got = append(got, fmt.Sprintf("%s:%d:%d: %s", filepath.ToSlash(rel), pos.Line, pos.Column, d.Message))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	got = slices.Compact(got)
	if !slices.Equal(got, want) {
		t.Errorf("the analyzer and the generator disagree\n--- analyzer\n%s\n--- generator\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// blocking lists the analyzer's categories for problems the generator
// refuses; their diagnostics are the ones that must match.
var blocking = map[string]bool{
	"directive": true, "typo": true, "placement": true, "signature": true,
	"duplicate": true, "order": true, "rollback": true,
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAnalyzerChecksumMatchesGenerator generates a real registry with the
// generator, then runs the analyzer: it must find the registry current,
// and after an edit inside a change's body (which only the checksum
// shows) out of date, as flamingock-gen -check does.
func TestAnalyzerChecksumMatchesGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a module")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), fmt.Appendf(nil, "module example.com/m\n\ngo 1.26\n\nrequire github.com/flamingock/flamingock-go v0.0.0\n\nreplace github.com/flamingock/flamingock-go => %s\n", root))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.sum"), sum)
	src := filepath.Join(dir, "p", "0001_users.go")
	writeFile(t, src, []byte("package p\n\nimport \"context\"\n\n//flamingock:change id=users\nfunc Users(ctx context.Context) error {\n\treturn nil\n}\n\n//flamingock:rollback users\nfunc DropUsers(ctx context.Context) error { return nil }\n"))
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")

	res, err := gen.Generate(context.Background(), gen.Config{Dir: dir, Patterns: []string{"./p"}, Env: env})
	if err != nil || len(res.Diagnostics) > 0 {
		t.Fatalf("generate: %v %v", err, res.Diagnostics)
	}
	if err := gen.Write(res); err != nil {
		t.Fatal(err)
	}
	generated := func() []string {
		pkgs, err := packages.Load(&packages.Config{Mode: packages.LoadAllSyntax, Dir: dir, Env: env}, "./p")
		if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
			t.Fatalf("load: %v %v", err, pkgs)
		}
		graph, err := checker.Analyze([]*analysis.Analyzer{lint.Analyzer}, pkgs, nil)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, act := range graph.Roots {
			for _, d := range act.Diagnostics {
				if d.Category == "generated" {
					msgs = append(msgs, d.Message)
				}
			}
		}
		return msgs
	}
	if msgs := generated(); len(msgs) > 0 {
		t.Fatalf("the analyzer finds a freshly generated registry stale: %q", msgs)
	}
	writeFile(t, src, []byte("package p\n\nimport \"context\"\n\n//flamingock:change id=users\nfunc Users(ctx context.Context) error {\n\t_ = ctx\n\treturn nil\n}\n\n//flamingock:rollback users\nfunc DropUsers(ctx context.Context) error { return nil }\n"))
	msgs := generated()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "the checksum differs") {
		t.Errorf("after a body edit the analyzer reports %q, want the checksum difference", msgs)
	}
}

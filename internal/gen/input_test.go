package gen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// generateAndEdit generates dir, applies edit to the file at rel (a slash
// path) and runs -check, returning its exit code and stderr.
func generateAndEdit(t *testing.T, dir, rel string, edit func(string) string) (int, string) {
	t.Helper()
	if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
		t.Fatalf("first generation: exit %d\n%s", code, stderr)
	}
	path := filepath.Join(dir, filepath.FromSlash(rel))
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(string(src))
	if edited == string(src) {
		t.Fatalf("the edit left %s unchanged", rel)
	}
	write(t, path, []byte(edited))
	code, _, stderr := runIn(t, dir, "-check", "./...")
	return code, stderr
}

// A //line directive before the package clause shifts what the file set
// reports as the file's offsets; the checksum must still cover the real
// bytes of the change, so an edit to its body is drift.
func TestLineDirectiveBodyEditIsStale(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"p/0001_x.go": "//line other.y:1\npackage p\n\nimport \"context\"\n\n//flamingock:change id=x\nfunc X(ctx context.Context) error {\n\treturn nil\n}\n",
	})
	code, stderr := generateAndEdit(t, dir, "p/0001_x.go", func(s string) string {
		return strings.Replace(s, "\treturn nil", "\t_ = 1\n\treturn nil", 1)
	})
	if code != ExitStale || !strings.Contains(stderr, "out of date") {
		t.Errorf("-check after a body edit: exit %d, want %d (stale)\n%s", code, ExitStale, stderr)
	}
}

// cgo declares names (_Cfunc_twice, _cgo_...) derived from the C code. An
// edit to the C preamble must not make the registry stale: nothing the
// registry holds changed.
func TestCgoEditKeepsRegistryCurrent(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"p/cgo.go":      "package p\n\n// int twice(int x) { return 2 * x; }\nimport \"C\"\n\n// Twice doubles through C.\nfunc Twice(x int) int { return int(C.twice(C.int(x))) }\n",
		"p/0001_use.go": "package p\n\nimport \"context\"\n\n//flamingock:change id=use\nfunc Use(ctx context.Context) error { _ = Twice(1); return nil }\n",
	})
	code, stderr := generateAndEdit(t, dir, "p/cgo.go", func(s string) string {
		return strings.Replace(s, "// int twice(int x) { return 2 * x; }", "// int twice(int x) { return x + x; }\n// int thrice(int x) { return 3 * x; }", 1)
	})
	if code != ExitOK {
		t.Errorf("-check after editing only C code: exit %d, want 0 (current)\n%s", code, stderr)
	}
}

// A checkout that turned the registry's line endings into CRLF is stale
// (the bytes differ), and -check says that only the line endings do.
func TestCheckNamesCRLF(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"p/0001_x.go": "package p\n\nimport \"context\"\n\n//flamingock:change id=x\nfunc X(ctx context.Context) error { return nil }\n",
	})
	code, stderr := generateAndEdit(t, dir, "p/"+OutputName, func(s string) string {
		return strings.ReplaceAll(s, "\n", "\r\n")
	})
	if code != ExitStale || !strings.Contains(stderr, "p/flamingock_gen.go: only line endings differ") {
		t.Errorf("-check on a CRLF registry: exit %d, want %d, and a message about line endings:\n%s", code, ExitStale, stderr)
	}
}

// -diff writes paths relative to the repository root, whatever directory
// it runs in, so that git apply at the root applies it.
func TestDiffPathsApplyWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	writeModuleAt(t, filepath.Join(repo, "mod"), map[string]string{
		"p/0001_x.go": "package p\n\nimport \"context\"\n\n//flamingock:change id=x\nfunc X(ctx context.Context) error { return nil }\n",
	})
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}} {
		cmd := exec.Command(git, args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	// Run from a directory beside the package, naming it with "..".
	sub := filepath.Join(repo, "mod", "q")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runIn(t, sub, "-diff", "../p")
	if code != ExitStale {
		t.Fatalf("-diff: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "+++ b/mod/p/flamingock_gen.go\n") {
		t.Errorf("-diff header is not relative to the repository root:\n%s", stdout)
	}
	cmd := exec.Command(git, "apply", "-")
	cmd.Dir = repo
	cmd.Stdin = strings.NewReader(stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply refused the diff: %v\n%s", err, out)
	}
	if code, _, stderr := runIn(t, sub, "-check", "../p"); code != ExitOK {
		t.Errorf("-check after git apply: exit %d\n%s", code, stderr)
	}
}

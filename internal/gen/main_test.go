package gen

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the flamingock-go checkout the tests run in; generated code in
// temporary modules imports its runtime through a replace directive.
var repoRoot string

func TestMain(m *testing.M) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	repoRoot = root
	// The temporary modules resolve everything from the local module
	// cache and the replace directive: no network, no checksum database,
	// and no workspace file from the surroundings.
	for k, v := range map[string]string{"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOSUMDB": "off", "GOWORK": "off"} {
		os.Setenv(k, v)
	}
	code := m.Run()
	for _, dir := range []string{bench.dir, bench.gen} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// writeModule writes files into a new temporary module directory whose
// go.mod requires flamingock-go from this checkout. files maps slash paths
// to contents; a "go.mod" entry gets the require and replace lines added.
func writeModule(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeModuleAt(t, dir, files)
	return dir
}

// writeModuleAt is writeModule into an existing directory.
func writeModuleAt(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	gomod, ok := files["go.mod"]
	if !ok {
		gomod = "module example.com/m\n\ngo 1.26\n"
	}
	gomod += fmt.Sprintf("\nrequire github.com/flamingock/flamingock-go v0.0.0\n\nreplace github.com/flamingock/flamingock-go => %s\n", repoRoot)
	sum, err := os.ReadFile(filepath.Join(repoRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.mod"), []byte(gomod))
	write(t, filepath.Join(dir, "go.sum"), sum)
	for name, content := range files {
		if name == "go.mod" {
			continue
		}
		write(t, filepath.Join(dir, filepath.FromSlash(name)), []byte(content))
	}
}

func write(t testing.TB, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

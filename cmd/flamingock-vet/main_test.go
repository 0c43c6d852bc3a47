package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for flamingock-vet: run with
// FLAMINGOCK_VET_AS_TOOL=1, it is the command itself, so the tests below
// drive the real main, standalone and under "go vet -vettool", without
// building a second binary.
func TestMain(m *testing.M) {
	if os.Getenv("FLAMINGOCK_VET_AS_TOOL") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A module with a misspelt key: only the standard library is imported, so
// the test needs no download.
const misspelt = `package changes

import "context"

//flamingock:change id=create-orders ordr=1
func CreateOrders(ctx context.Context) error { return nil }
`

const wantMsg = `changes/changes.go:5:38: change "create-orders": unknown key "ordr" in change directive (did you mean "order"?)`

func writeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":             "module example.com/shop\n\ngo 1.26.0\n",
		"changes/changes.go": misspelt,
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs name with args in dir, the test binary acting as
// flamingock-vet, and returns the combined output and exit code.
func run(t *testing.T, dir, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FLAMINGOCK_VET_AS_TOOL=1", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return string(out), 0
}

func TestStandalone(t *testing.T) {
	dir := writeModule(t)
	out, code := run(t, dir, os.Args[0], "./...")
	if code != 3 {
		t.Errorf("exit code %d, want 3 (diagnostics reported)\n%s", code, out)
	}
	if !strings.Contains(out, dir+string(filepath.Separator)+wantMsg) {
		t.Errorf("output lacks %q:\n%s", wantMsg, out)
	}
}

func TestGoVetTool(t *testing.T) {
	dir := writeModule(t)
	out, code := run(t, dir, "go", "vet", "-vettool="+os.Args[0], "./...")
	if code != 1 {
		t.Errorf("exit code %d, want 1 (go vet found problems)\n%s", code, out)
	}
	if !strings.Contains(out, wantMsg) {
		t.Errorf("output lacks %q:\n%s", wantMsg, out)
	}
}

package gen

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const changesV1 = `package changes

import (
	"context"
	"fmt"

	"example.com/m/store"
)

//flamingock:change id=create-users author=alice
func CreateUsers(ctx context.Context, conn *store.Conn, batch int) error {
	fmt.Printf("CreateUsers conn=%s batch=%d\n", conn.Name, batch)
	return nil
}

//flamingock:rollback create-users
func DropUsers(ctx context.Context, conn *store.Conn, batch int) error {
	fmt.Printf("DropUsers conn=%s batch=%d\n", conn.Name, batch)
	return nil
}
`

const storeSrc = `package store

type Conn struct{ Name string }
`

func runIn(t testing.TB, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), dir, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestGeneratedRegistryRuns builds and runs a program that takes the
// generated Stage, resolves dependencies through the runtime's Deps and
// runs Apply and Rollback: the user's functions must receive the values
// registered for their parameter types.
func TestGeneratedRegistryRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := writeModule(t, map[string]string{
		"store/store.go":           storeSrc,
		"changes/0001_create.go":   changesV1,
		"changes/0002_greeting.go": "package changes\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n//flamingock:change id=greet\nfunc Greet(ctx context.Context, who string) error {\n\tfmt.Println(\"hello\", who)\n\treturn nil\n}\n",
		// Seven dependencies: more than the runtime's largest FuncN
		// helper, so the generator writes the adapter out.
		"changes/0003_many.go": `package changes

import (
	"context"
	"fmt"

	"example.com/m/store"
)

//flamingock:change id=many
func Many(ctx context.Context, c *store.Conn, n int, s string, b bool, f float64, r rune, u uint) error {
	fmt.Println("Many", c.Name, n, s, b, f, r, u)
	return nil
}
`,
		"cmd/app/main.go": `package main

import (
	"context"
	"errors"
	"fmt"

	"example.com/m/changes"
	"example.com/m/store"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

func main() {
	ctx := context.Background()
	st := changes.Stage()
	fmt.Println("stage", st.Name, len(st.Changes))
	// The stage digest computed at generate time matches the runtime's.
	fmt.Println("valid:", flamingock.NewPipeline(st).Validate())
	deps := targets.NewDeps(nil)
	targets.Provide(deps, &store.Conn{Name: "db1"})
	targets.Provide(deps, 42)
	targets.Provide(deps, "world")
	targets.Provide(deps, true)
	targets.Provide(deps, 2.5)
	targets.Provide(deps, 'x')
	targets.Provide(deps, uint(7))
	for _, c := range st.Changes {
		fmt.Println("change", c.ID, c.Order, c.Source, c.NeedTypes())
		if err := c.Apply.Call(ctx, deps); err != nil {
			fmt.Println("apply error:", err)
		}
	}
	if err := st.Changes[0].Rollback.Call(ctx, deps); err != nil {
		fmt.Println("rollback error:", err)
	}
	err := st.Changes[0].Apply.Call(ctx, targets.NewDeps(nil))
	var missing *targets.MissingDependencyError
	fmt.Println("empty deps:", errors.As(err, &missing))
}
`,
	})
	// As go generate would: in the package of the changes. The program
	// that calls Stage cannot type-check before Stage exists.
	if code, _, stderr := runIn(t, filepath.Join(dir, "changes")); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	// Now the whole module loads, the program included, and is current.
	if code, stdout, stderr := runIn(t, dir, "-check", "./..."); code != ExitOK {
		t.Fatalf("-check ./...: exit %d\n%s%s", code, stdout, stderr)
	}
	cmd := exec.Command("go", "run", "./cmd/app")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	want := `stage example.com/m/changes 3
valid: <nil>
change create-users 0001 changes/0001_create.go:11 [*store.Conn int]
CreateUsers conn=db1 batch=42
change greet 0002 changes/0002_greeting.go:9 [string]
hello world
change many 0003 changes/0003_many.go:11 [*store.Conn int string bool float64 int32 uint]
Many db1 42 world true 2.5 120 7
DropUsers conn=db1 batch=42
empty deps: true
`
	if string(out) != want {
		t.Errorf("program output:\n%s\nwant:\n%s", out, want)
	}
}

// TestDeterministic generates the same module twice, from scratch, and
// requires identical bytes; a second write must not touch the file.
func TestDeterministic(t *testing.T) {
	files := map[string]string{
		"store/store.go":         storeSrc,
		"changes/0001_create.go": changesV1,
	}
	for i := range 20 {
		files["changes/more"+string(rune('a'+i))+".go"] = "package changes\n\nimport (\n\t\"context\"\n\n\t\"example.com/m/store\"\n)\n\n" +
			"//flamingock:change id=c" + string(rune('a'+i)) + " order=" + string(rune('a'+i)) + "\nfunc C" + string(rune('A'+i)) + "(ctx context.Context, c *store.Conn, m map[string][]int) error { return nil }\n"
	}
	var outputs [][]byte
	for range 2 {
		dir := writeModule(t, files)
		res, err := Generate(context.Background(), Config{Dir: dir, Patterns: []string{"./..."}})
		if err != nil || len(res.Diagnostics) > 0 {
			t.Fatalf("Generate: %v %v", err, res.Diagnostics)
		}
		if len(res.Files) != 1 {
			t.Fatalf("got %d files, want 1", len(res.Files))
		}
		outputs = append(outputs, res.Files[0].Want)
	}
	if !bytes.Equal(outputs[0], outputs[1]) {
		t.Fatal("two runs generated different bytes")
	}

	dir := writeModule(t, files)
	if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	path := filepath.Join(dir, "changes", OutputName)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().Equal(old) {
		t.Errorf("an unchanged file was rewritten (mtime %v, want %v)", info.ModTime(), old)
	}
}

func TestCheckAndDiff(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"store/store.go":         storeSrc,
		"changes/0001_create.go": changesV1,
	})
	path := filepath.Join(dir, "changes", OutputName)

	// Missing file: stale, diff from /dev/null, nothing written.
	code, stdout, stderr := runIn(t, dir, "-check", "./...")
	if code != ExitStale {
		t.Fatalf("-check on a missing file: exit %d, want %d\n%s", code, ExitStale, stderr)
	}
	if !strings.Contains(stdout, "--- /dev/null\n+++ b/changes/flamingock_gen.go\n") || !strings.Contains(stdout, `+		ID:            "create-users",`) {
		t.Errorf("-check diff:\n%s", stdout)
	}
	if !strings.Contains(stderr, "changes/flamingock_gen.go: missing; run go generate") {
		t.Errorf("-check stderr: %s", stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("-check wrote %s", path)
	}

	if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	for _, mode := range []string{"-check", "-diff"} {
		if code, stdout, stderr := runIn(t, dir, mode, "./..."); code != ExitOK || stdout != "" {
			t.Fatalf("%s on a current file: exit %d, stdout %q, stderr %q", mode, code, stdout, stderr)
		}
	}

	// A new change makes the file stale.
	write(t, filepath.Join(dir, "changes", "0002_more.go"), []byte("package changes\n\nimport \"context\"\n\n//flamingock:change id=more\nfunc More(ctx context.Context) error { return nil }\n"))
	before, _ := os.ReadFile(path)
	code, stdout, _ = runIn(t, dir, "-diff", "./...")
	if code != ExitStale {
		t.Fatalf("-diff on a stale file: exit %d, want %d", code, ExitStale)
	}
	if !strings.HasPrefix(stdout, "--- a/changes/flamingock_gen.go\n+++ b/changes/flamingock_gen.go\n@@ ") ||
		!strings.Contains(stdout, `+		ID:            "more",`) ||
		!strings.Contains(stdout, "-\t\tFingerprint: ") {
		t.Errorf("-diff output:\n%s", stdout)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("-diff modified the file")
	}

	// Once the package has no changes left, the generated file is a
	// leftover: stale for -check, removed by a normal run.
	for _, f := range []string{"0001_create.go", "0002_more.go"} {
		if err := os.Remove(filepath.Join(dir, "changes", f)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "changes", "doc.go"), []byte("package changes\n"))
	code, stdout, stderr = runIn(t, dir, "-check", "./...")
	if code != ExitStale || !strings.Contains(stdout, "+++ /dev/null") || !strings.Contains(stderr, "declares no changes any more") {
		t.Fatalf("-check on a leftover file: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the leftover generated file was not removed")
	}
	if code, stdout, _ := runIn(t, dir, "-check", "./..."); code != ExitOK || stdout != "" {
		t.Fatalf("-check after removal: exit %d\n%s", code, stdout)
	}

	// A file without the header is not ours: never removed.
	mine := []byte("package changes\n\nvar Mine = 1\n")
	write(t, path, mine)
	if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, mine) {
		t.Fatalf("a file without the header was changed or removed: %q, %v", got, err)
	}
}

// TestMainUsesWorkingDirectory runs the exported entry point the binary
// uses: patterns and printed paths are relative to the current directory.
func TestMainUsesWorkingDirectory(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"p/p.go": "package p\n\nimport \"context\"\n\n//flamingock:change id=x\nfunc X(ctx context.Context) error { return nil }\n",
	})
	t.Chdir(filepath.Join(dir, "p"))
	var stdout, stderr bytes.Buffer
	if code := Main(nil, &stdout, &stderr); code != ExitError {
		t.Fatalf("exit %d, want %d", code, ExitError)
	}
	want := "p.go:5:1: change \"x\": no order: add order=<n> to the directive or name the file with an order prefix, as in 0001_p.go\n"
	if !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr:\n%s\nwant prefix:\n%s", stderr.String(), want)
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"-h"}, &stdout, &stderr); code != ExitOK {
		t.Errorf("-h: exit %d", code)
	}
	if !strings.Contains(stderr.String(), "-check") {
		t.Errorf("usage does not list -check:\n%s", stderr.String())
	}
	if code := Main([]string{"-nope"}, &stdout, &stderr); code != ExitError {
		t.Errorf("unknown flag: exit %d, want %d", code, ExitError)
	}
}

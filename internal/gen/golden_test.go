package gen

import (
	"bytes"
	"context"
	"flag"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/internal/gen/unidiff"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "re-record the golden outputs in testdata/gen (only outputs that build and vet)")

// goldenDir holds one txtar archive per case. Each archive holds a module's
// files (go.mod without the flamingock-go require, which the test adds)
// and, under want/, what a run must leave behind: every flamingock_gen.go
// by its path, or errors.txt with the exact diagnostics when the run must
// fail. The archive's comment may hold a line "args: ..." with the
// command-line arguments (default "./...").
const goldenDir = "../../testdata/gen"

func TestGolden(t *testing.T) {
	archives, err := filepath.Glob(filepath.Join(goldenDir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(archives) == 0 {
		t.Fatal("no golden cases in " + goldenDir)
	}
	for _, path := range archives {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) { runGolden(t, path) })
	}
}

func runGolden(t *testing.T, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{}
	wants := map[string]string{}
	for _, f := range ar.Files {
		if rest, ok := strings.CutPrefix(f.Name, "want/"); ok {
			wants[rest] = string(f.Data)
		} else {
			inputs[f.Name] = string(f.Data)
		}
	}
	dir := writeModule(t, inputs)
	args := []string{"./..."}
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if rest, ok := strings.CutPrefix(line, "args:"); ok {
			args = strings.Fields(rest)
		}
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), dir, args, &stdout, &stderr)
	gotErrors := scrub(stderr.String(), dir)
	got := generatedFiles(t, dir)

	_, wantFail := wants["errors.txt"]
	if *update {
		record(t, path, ar, dir, args, code, gotErrors, got)
		return
	}
	if wantFail {
		if code != ExitError {
			t.Errorf("exit code %d, want %d", code, ExitError)
		}
		if gotErrors != wants["errors.txt"] {
			t.Errorf("diagnostics differ:\n--- got\n%s--- want\n%s", gotErrors, wants["errors.txt"])
		}
		// Nothing is written when there is an error: the only
		// generated files are those the case started with.
		for name, content := range got {
			if inputs[name] != content {
				t.Errorf("%s was written although the run failed", name)
			}
		}
		return
	}
	if code != ExitOK {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", code, gotErrors)
	}
	for name, want := range wants {
		if got[name] != want {
			t.Errorf("%s differs from the golden file:\n%s", name, unidiff.Diff("want/"+name, "got/"+name, []byte(want), []byte(got[name])))
		}
	}
	for name := range got {
		if _, ok := wants[name]; !ok {
			t.Errorf("%s exists but the case expects no such file", name)
		}
	}
	for name, content := range got {
		assertGofmt(t, name, []byte(content))
	}
	if !testing.Short() {
		mustBuild(t, dir, args)
	}
}

// generatedFiles returns every flamingock_gen.go under dir, by slash path.
func generatedFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != OutputName {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// assertGofmt fails unless go/format leaves content unchanged: the
// emitter writes gofmt's layout itself instead of running go/format.
func assertGofmt(t *testing.T, name string, content []byte) {
	t.Helper()
	formatted, err := format.Source(content)
	if err != nil {
		t.Errorf("%s does not parse: %v", name, err)
		return
	}
	if !bytes.Equal(formatted, content) {
		t.Errorf("%s is not gofmt'd:\n%s", name, unidiff.Diff("got/"+name, "gofmt/"+name, content, formatted))
	}
}

// scrub replaces the temporary directory in messages (a load error can
// name it) with a fixed word.
func scrub(s, dir string) string {
	return strings.ReplaceAll(s, dir, "$WORK")
}

// mustBuild builds and vets the module in dir: a golden file is only worth
// keeping if it compiles against the real runtime package.
func mustBuild(t *testing.T, dir string, genArgs []string) {
	t.Helper()
	var tags []string
	for i, a := range genArgs {
		if a == "-tags" && i+1 < len(genArgs) {
			tags = []string{"-tags", genArgs[i+1]}
		} else if strings.HasPrefix(a, "-tags=") {
			tags = []string{a}
		}
	}
	for _, verb := range []string{"build", "vet"} {
		args := append(append([]string{verb}, tags...), "./...")
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s failed on the generated code: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// record rewrites the archive's want/ section from this run. Outputs of a
// successful run are recorded only once they build and vet.
func record(t *testing.T, path string, ar *txtar.Archive, dir string, args []string, code int, gotErrors string, got map[string]string) {
	t.Helper()
	var files []txtar.File
	for _, f := range ar.Files {
		if !strings.HasPrefix(f.Name, "want/") {
			files = append(files, f)
		}
	}
	switch code {
	case ExitError:
		files = append(files, txtar.File{Name: "want/errors.txt", Data: []byte(gotErrors)})
	case ExitOK:
		mustBuild(t, dir, args)
		names := make([]string, 0, len(got))
		for name := range got {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			files = append(files, txtar.File{Name: "want/" + name, Data: []byte(got[name])})
		}
	default:
		t.Fatalf("exit code %d; not recording", code)
	}
	ar.Files = files
	if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}

package linkcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/flamingock/flamingock-go"

// heavy are module paths whose packages only a backend that needs them may
// link: the drivers and SDKs of the stores and targets, and what they bring.
var heavy = []string{
	"github.com/couchbase/",             // gocb, gocbcore, goprotostellar
	"github.com/couchbaselabs/",         //
	"github.com/jackc/",                 // pgx
	"google.golang.org/grpc",            // via goprotostellar
	"google.golang.org/protobuf",        //
	"go.opentelemetry.io/",              // via gocb
	"go.uber.org/zap",                   // via gocb
	"github.com/aws/",                   // the S3 target
	"github.com/twmb/franz-go",          // the Kafka target
	"github.com/johannesboyne/gofakes3", // test server
	"golang.org/x/tools",                // the analyzer
	"github.com/go-sql-driver/",         // the MySQL store
}

// light lists the packages an application links in every setup and what
// each may not depend on besides heavy: the runtime and the audit contract
// link no driver at all, and only the CLI may link cobra.
var light = []struct {
	pkg    string
	forbid []string
}{
	{"runtime", []string{"modernc.org/", "github.com/spf13/"}},
	{"audit", []string{"modernc.org/", "github.com/spf13/"}},
	{"targets", []string{"modernc.org/", "github.com/spf13/"}},
	{"audit/storeurl", []string{"modernc.org/", "github.com/spf13/"}},
	{"cli", []string{"modernc.org/"}},
	{"audit/sqlite", []string{"github.com/spf13/"}},
	{"targets/sqltarget", []string{"github.com/spf13/"}},
}

func goCommand(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	return gobin
}

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLightPackagesLinkNoHeavyDependency(t *testing.T) {
	gobin := goCommand(t)
	trackSources(t)
	for _, l := range light {
		t.Run(l.pkg, func(t *testing.T) {
			cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", module+"/"+l.pkg)
			cmd.Dir = repoRoot(t)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", l.pkg, err, stderrOf(err))
			}
			forbid := append(append([]string{}, heavy...), l.forbid...)
			for _, dep := range strings.Fields(string(out)) {
				for _, f := range forbid {
					if strings.HasPrefix(dep, f) {
						t.Errorf("%s depends on %s (forbidden: %s*); run `go list -deps %s/%s` and move the import behind a backend package", l.pkg, dep, f, module, l.pkg)
					}
				}
			}
		})
	}
}

// maxCLIBytes is what mounting the operations command may add to the
// quickstart binary (measured: about 0.4 MB; docs/benchmarks.md).
const maxCLIBytes = 1 << 20

// TestMountingTheCLIAddsLittle builds examples/quickstart and the same
// program without cli.Command (testdata/nocli, which links cobra too) and
// fails when the difference passes maxCLIBytes.
func TestMountingTheCLIAddsLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries; skipped with -short")
	}
	gobin := goCommand(t)
	trackSources(t)
	dir := t.TempDir()
	size := func(name, pkg string) int64 {
		t.Helper()
		bin := filepath.Join(dir, name)
		cmd := exec.Command(gobin, "build", "-o", bin, pkg)
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		fi, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	with := size("quickstart", "./examples/quickstart")
	without := size("nocli", "./internal/linkcheck/testdata/nocli")
	t.Logf("quickstart %d bytes, without the CLI %d bytes: the CLI adds %d bytes", with, without, with-without)
	if with-without > maxCLIBytes {
		t.Errorf("mounting the CLI adds %d bytes to the quickstart binary (%d with, %d without), more than %d: check `go version -m` of the binary for a driver the CLI pulls in", with-without, with, without, maxCLIBytes)
	}
}

// trackSources stats every Go source and module file of the repository, so
// that go test's result cache, which sees only what the test process itself
// reads, is invalidated when any of them changes: the go commands these
// tests run read them in another process.
func trackSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(repoRoot(t), func(path string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != repoRoot(t):
			return filepath.SkipDir
		case !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum"):
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

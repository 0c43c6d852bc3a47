package gen

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The registry converts each function to the FuncN type of the signature
// it was generated for. When the signature changes and the registry is not
// regenerated, the package must stop compiling: a stale registry would
// otherwise resolve and pass the wrong values, or none.
func TestSignatureMismatchFailsToCompile(t *testing.T) {
	many := `package changes

import (
	"context"

	"example.com/m/store"
)

//flamingock:change id=many
func Many(ctx context.Context, c *store.Conn, n int, s string, b bool, f float64, r rune, u uint) error {
	return nil
}
`
	cases := []struct {
		name, file, from, to, want string
	}{
		{"a parameter type changed", "changes/0001_create.go", "func CreateUsers(ctx context.Context, conn *store.Conn, batch int)", "func CreateUsers(ctx context.Context, conn *store.Conn, batch int64)", "cannot convert CreateUsers"},
		{"a parameter widened to an interface", "changes/0001_create.go", "func CreateUsers(ctx context.Context, conn *store.Conn, batch int)", "func CreateUsers(ctx context.Context, conn any, batch int)", "cannot convert CreateUsers"},
		{"a parameter added", "changes/0001_create.go", "func DropUsers(ctx context.Context, conn *store.Conn, batch int)", "func DropUsers(ctx context.Context, conn *store.Conn, batch int, extra string)", "cannot convert DropUsers"},
		{"a written-out adapter's parameter changed", "changes/0002_many.go", "u uint)", "u uint64)", "cannot convert Many"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"store/store.go": storeSrc, "changes/0001_create.go": changesV1, "changes/0002_many.go": many}
			dir := writeModule(t, files)
			if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
				t.Fatalf("generate: exit %d\n%s", code, stderr)
			}
			if out, err := goCmd(dir, "build", "./changes"); err != nil {
				t.Fatalf("the generated package does not build: %v\n%s", err, out)
			}
			edited := strings.Replace(files[tc.file], tc.from, tc.to, 1)
			if edited == files[tc.file] {
				t.Fatalf("%q not found in %s", tc.from, tc.file)
			}
			write(t, filepath.Join(dir, filepath.FromSlash(tc.file)), []byte(edited))
			out, err := goCmd(dir, "build", "./changes")
			if err == nil {
				t.Fatalf("the package builds with a stale registry after %s", tc.name)
			}
			if !strings.Contains(out, OutputName) || !strings.Contains(out, tc.want) {
				t.Errorf("the build error does not point at the registry's conversion (%q):\n%s", tc.want, out)
			}
		})
	}
}

func goCmd(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startupFiles returns a module with one package of changes per size,
// changesN, each change needing a *strings.Builder, and a program that
// applies them all on an in-memory store, then measures what an
// application pays at each later start: calling the generated Stage(),
// runner.New, and a Run that finds nothing pending. It prints one JSON
// line per size.
func startupFiles(sizes ...int) map[string]string {
	files := map[string]string{}
	var imports, stages strings.Builder
	for _, n := range sizes {
		pkg := fmt.Sprintf("changes%d", n)
		const perFile = 500
		for f := 0; f*perFile < n; f++ {
			var src strings.Builder
			fmt.Fprintf(&src, "package %s\n\nimport (\n\t\"context\"\n\t\"strings\"\n)\n", pkg)
			for i := f * perFile; i < min(n, (f+1)*perFile); i++ {
				fmt.Fprintf(&src, "\n//flamingock:change id=%s-%d order=%d\nfunc C%d(ctx context.Context, b *strings.Builder) error {\n\tb.WriteString(\"x\")\n\treturn nil\n}\n", pkg, i, i, i)
			}
			files[fmt.Sprintf("%s/c%03d.go", pkg, f)] = src.String()
		}
		fmt.Fprintf(&imports, "\t\"example.com/m/%s\"\n", pkg)
		fmt.Fprintf(&stages, "\t\t{%d, %s.Stage},\n", n, pkg)
	}
	files["cmd/startup/main.go"] = `package main

import (
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/audit/memory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
` + imports.String() + `)

type result struct {
	N          int
	Allocs     float64
	NsPerOp    int64
	BytesPerOp int64
	Applied    int
}

func main() {
	ctx := context.Background()
	for _, s := range []struct {
		n     int
		stage func() flamingock.Stage
	}{
` + stages.String() + `	} {
		store := memory.New()
		var sb strings.Builder
		start := func() *flamingock.Report {
			r, err := flamingock.New(flamingock.NewPipeline(s.stage()), flamingock.WithAuditStore(store), flamingock.WithDependency(&sb), flamingock.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				log.Fatal(err)
			}
			rep, err := r.Run(ctx)
			if err != nil {
				log.Fatal(err)
			}
			return rep
		}
		start()
		res := result{N: s.n, Applied: sb.Len()}
		if rep := start(); !rep.UpToDate {
			log.Fatalf("N=%d: the second start is not up to date", s.n)
		}
		runtime.GC()
		res.Allocs = testing.AllocsPerRun(100, func() { start() })
		b := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				start()
			}
		})
		res.NsPerOp, res.BytesPerOp = b.NsPerOp(), b.AllocedBytesPerOp()
		json.NewEncoder(os.Stdout).Encode(res)
	}
}
`
	return files
}

type startupResult struct {
	N          int
	Allocs     float64
	NsPerOp    int64
	BytesPerOp int64
	Applied    int
}

// runStartup generates the registries of startupFiles(sizes...) in dir and
// runs the program.
func runStartup(t testing.TB, dir string, sizes ...int) []startupResult {
	t.Helper()
	writeModuleAt(t, dir, startupFiles(sizes...))
	var pkgs []string
	for _, n := range sizes {
		pkgs = append(pkgs, fmt.Sprintf("./changes%d", n))
	}
	if code, _, stderr := runIn(t, dir, pkgs...); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	out, err := goCmd(dir, "run", "./cmd/startup")
	if err != nil {
		t.Fatalf("startup program: %v\n%s", err, out)
	}
	var res []startupResult
	for line := range strings.Lines(out) {
		var r startupResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("startup program output %q: %v", line, err)
		}
		res = append(res, r)
	}
	if len(res) != len(sizes) {
		t.Fatalf("startup program printed %d results for %d sizes:\n%s", len(res), len(sizes), out)
	}
	for i, r := range res {
		if r.N != sizes[i] || r.Applied != sizes[i] {
			t.Fatalf("N=%d: %d changes applied", sizes[i], r.Applied)
		}
	}
	return res
}

// A start-up that finds everything applied does the same work whatever the
// number of changes: the registry is static data (no reflect.Type, no
// closure per change), the up-to-date check combines stage digests, and
// the pipeline is validated only when something is pending. Allocation
// counts are deterministic, so they are compared exactly.
func TestStartupAllocationsDoNotGrowWithChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package of 2,000 changes")
	}
	dir := t.TempDir()
	res := runStartup(t, dir, 10, 2000)
	t.Logf("start-up: %+v", res)
	if res[0].Allocs != res[1].Allocs {
		t.Errorf("a start-up allocates %v times with 10 changes applied and %v times with 2,000", res[0].Allocs, res[1].Allocs)
	}
	// Nor does package initialisation build the table: the compiler lays
	// it out as data, so the package's init function stays empty. One
	// that assigned 2,000 entries would be kilobytes of code. A file with
	// a fresh constant makes the build compile the package (a cached
	// build prints no assembly).
	write(t, filepath.Join(dir, "changes2000", "nonce.go"), fmt.Appendf(nil, "package changes2000\n\nconst nonce = %d\n", time.Now().UnixNano()))
	out, err := goCmd(dir, "build", "-gcflags=-S", "./changes2000")
	if err != nil {
		t.Fatalf("go build -gcflags=-S: %v\n%s", err, out)
	}
	if !strings.Contains(out, "changes2000.C1999 STEXT") {
		t.Fatalf("go build -gcflags=-S printed no assembly for the package:\n%.2000s", out)
	}
	m := regexp.MustCompile(`(?m)^example\.com/m/changes2000\.init STEXT.* size=(\d+) `).FindStringSubmatch(out)
	if m == nil {
		return // no init function at all
	}
	if size, _ := strconv.Atoi(m[1]); size > 64 {
		t.Errorf("the package's init function is %d bytes: the registry is built by code, not laid out as data", size)
	}
}

// BenchmarkStartup reports a no-op start-up (generated Stage(), New, Run
// on the in-memory store) with 10,000 changes applied as a ratio to one
// with 10, measured in the same program run.
func BenchmarkStartup(b *testing.B) {
	for b.Loop() {
		res := runStartup(b, b.TempDir(), 10, 10000)
		b.ReportMetric(float64(res[1].NsPerOp)/float64(res[0].NsPerOp), "ratio-10000/10")
		b.ReportMetric(float64(res[0].NsPerOp), "ns/start-10")
		b.ReportMetric(float64(res[1].NsPerOp), "ns/start-10000")
		b.ReportMetric(res[0].Allocs, "allocs/start-10")
		b.ReportMetric(res[1].Allocs, "allocs/start-10000")
		b.ReportMetric(float64(res[1].BytesPerOp), "B/start-10000")
	}
}

package cli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/cli"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// testZone keeps times in goldens independent of the machine's zone.
var testZone = time.FixedZone("XST", 5*3600+30*60)

// result is one in-process execution of the CLI.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("$ flamingock %s\n[exit %d]\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// execute runs a freshly built command (cobra keeps flag values between
// executions) with args, as a main would.
func execute(t *testing.T, build func() *cobra.Command, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Execute(context.Background(), build(), args, strings.NewReader(""), &stdout, &stderr)
	return result{args: args, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// expect fails the test unless r exited with code.
func expect(t *testing.T, r result, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\n%s", r.code, code, r)
	}
	return r
}

func standalone(storeURL string) func() *cobra.Command {
	return func() *cobra.Command {
		cmd := cli.Standalone(cli.WithLocation(testZone))
		if storeURL != "" {
			_ = cmd.PersistentFlags().Set("store", storeURL)
		}
		return cmd
	}
}

func embedded(r *flamingock.Runner, opts ...cli.Option) func() *cobra.Command {
	return func() *cobra.Command {
		return cli.Command(r, append([]cli.Option{cli.WithLocation(testZone)}, opts...)...)
	}
}

// openSQLite returns a store on a new database file and its URL.
func openSQLite(t testing.TB) (audit.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, "sqlite://" + path
}

// workshop is the target system of these tests: a real directory that the
// changes write files into, reached through an *os.Root.
type workshop struct {
	dir          string
	root         *os.Root
	failApply    atomic.Bool
	failRollback atomic.Bool
	seedRuns     atomic.Int32
}

func newWorkshop(t *testing.T) *workshop {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	return &workshop{dir: dir, root: root}
}

func (w *workshop) has(name string) bool {
	_, err := os.Stat(filepath.Join(w.dir, name))
	return err == nil
}

func (w *workshop) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fileChange builds a non-transactional change the way generated code
// does: the adapters resolve *os.Root from the deps and call the functions.
func fileChange(id, order string, apply, rollback func(context.Context, *os.Root) error) flamingock.Change {
	adapt := func(fn func(context.Context, *os.Root) error) flamingock.ChangeFunc {
		if fn == nil {
			return nil
		}
		return func(ctx context.Context, d *targets.Deps) error {
			root, err := targets.Resolve[*os.Root](d)
			if err != nil {
				return err
			}
			return fn(ctx, root)
		}
	}
	return flamingock.Change{
		ID: id, Order: order, Author: "alice", Target: "files", Recovery: flamingock.RecoveryManual,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + order + "_" + id + ".go", Line: 12},
		Needs: []reflect.Type{flamingock.TypeOf[*os.Root]()},
		Apply: adapt(apply), Rollback: adapt(rollback),
	}
}

func writeFile(name, content string) func(context.Context, *os.Root) error {
	return func(_ context.Context, r *os.Root) error { return r.WriteFile(name, []byte(content), 0o644) }
}

// pipeline: stage "config" writes settings; stage "users" seeds users.txt
// (half-way, it can be made to fail, and its rollback too) and then builds
// an index of it.
func (w *workshop) pipeline() flamingock.Pipeline {
	seed := func(_ context.Context, r *os.Root) error {
		w.seedRuns.Add(1)
		if err := r.WriteFile("users.txt", []byte("ada\n"), 0o644); err != nil {
			return err
		}
		if w.failApply.Load() {
			return errors.New("writing users.txt: disk quota exceeded after 1 of 2 users")
		}
		return r.WriteFile("users.txt", []byte("ada\ngrace\n"), 0o644)
	}
	unseed := func(_ context.Context, r *os.Root) error {
		if w.failRollback.Load() {
			return errors.New("removing users.txt: read-only file system")
		}
		return r.Remove("users.txt")
	}
	index := func(_ context.Context, r *os.Root) error {
		b, err := r.ReadFile("users.txt")
		if err != nil {
			return err
		}
		return r.WriteFile("users.idx", []byte(strconv.Itoa(strings.Count(string(b), "\n"))), 0o644)
	}
	return flamingock.NewPipeline(
		flamingock.Stage{Name: "example.com/app/changes/config", Changes: []flamingock.Change{
			fileChange("write-settings", "0001", writeFile("settings.json", `{"theme":"dark"}`), nil),
		}},
		flamingock.Stage{Name: "example.com/app/changes/users", Changes: []flamingock.Change{
			fileChange("seed-users", "0001", seed, unseed),
			fileChange("index-users", "0002", index, nil),
		}},
	)
}

func (w *workshop) runner(t *testing.T, store audit.Store, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	target := flamingock.NewDependencyTarget("files", w.root)
	opts = append([]flamingock.Option{flamingock.WithAuditStore(store), flamingock.WithTargets(target),
		flamingock.WithLogger(slog.New(slog.DiscardHandler)),
		flamingock.WithService("shop", "1.4.0"), flamingock.WithLockWait(10 * time.Second)}, opts...)
	r, err := flamingock.New(w.pipeline(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// scrubber replaces what changes from run to run (run ids, times, ages,
// durations, the host, the pid, temporary paths) with fixed words, and
// collapses the padding of table columns that such values widen.
type scrubber struct{ pairs []string }

func newScrubber(paths ...string) *scrubber {
	s := &scrubber{}
	for _, p := range paths {
		s.pairs = append(s.pairs, p, "<TMP>")
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		s.pairs = append(s.pairs, h, "<HOST>")
	}
	return s
}

var scrubs = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b[0-9a-f]{24}\b`), "<RUN>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<TIME>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+`), "<TIME>"},
	{regexp.MustCompile(`(just now|\d[0-9a-zµ.]* ago|in \d[0-9a-zµ.]*)`), "<AGE>"},
	{regexp.MustCompile(`"(duration_ns|age_seconds|remaining_ns)": -?\d+`), `"$1": 0`},
	{regexp.MustCompile(`\b\d+(\.\d+)?(µs|ms|s)\b|\b\d+m\d\ds\b`), "<DUR>"},
	{regexp.MustCompile(`(\S)  +`), "$1  "},
}

func (s *scrubber) scrub(text string) string {
	text = strings.NewReplacer(s.pairs...).Replace(text)
	// Short run ids: eight hex digits standing alone in a table.
	text = regexp.MustCompile(`(?m)(^|  )[0-9a-f]{8}(  |$)`).ReplaceAllString(text, "$1<RUN8>$2")
	for _, sc := range scrubs {
		text = sc.re.ReplaceAllString(text, sc.with)
	}
	pid := strconv.Itoa(os.Getpid())
	return regexp.MustCompile(`\b`+pid+`\b`).ReplaceAllString(text, "<PID>")
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no golden file %s: run go test ./cli -run %s -update", path, t.Name())
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 12; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %q\n  got:  %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

package gen

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/tools/go/packages"
)

var bench struct {
	once sync.Once
	dir  string // no generated file: every run generates afresh
	gen  string // the same sources with their current flamingock_gen.go
	err  error
}

// sharedBenchModule returns one module of 1,000 changes for every
// benchmark in the process, warmed up by one load, so both benchmarks
// measure with the go command's build cache in the same (warm) state.
func sharedBenchModule(b *testing.B) string {
	sharedBenchModules(b)
	return bench.dir
}

// sharedGeneratedModule is the module of sharedBenchModule with its
// registry generated and written, as after `go generate`.
func sharedGeneratedModule(b *testing.B) string {
	sharedBenchModules(b)
	return bench.gen
}

func sharedBenchModules(b *testing.B) {
	bench.once.Do(func() {
		for _, dir := range []*string{&bench.dir, &bench.gen} {
			if *dir, bench.err = os.MkdirTemp("", "flamingock-gen-bench-"); bench.err != nil {
				return
			}
			writeModuleAt(b, *dir, benchFiles(1000))
		}
		var res *Result
		if res, bench.err = Generate(context.Background(), Config{Dir: bench.gen, Patterns: []string{"./changes"}}); bench.err != nil {
			return
		}
		if bench.err = Write(res); bench.err != nil {
			return
		}
		for _, dir := range []string{bench.dir, bench.gen} {
			if _, bench.err = packages.Load(&packages.Config{Mode: loadMode, Dir: dir}, "./changes"); bench.err != nil {
				return
			}
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
}

// reportCPU runs the benchmark loop body through b.Loop and reports, next
// to the wall time, the CPU time per operation of this process and the go
// commands it ran. On a shared, loaded machine the CPU time varies much
// less than the wall time.
func reportCPU(b *testing.B, op func()) {
	start, ok := cpuTime()
	for b.Loop() {
		op()
	}
	if end, ok2 := cpuTime(); ok && ok2 {
		b.ReportMetric(float64(end-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// benchFiles returns the files of a module whose package "changes"
// declares n changes
// over 10 files, each with a database/sql dependency, every other one
// with a rollback.
func benchFiles(n int) map[string]string {
	files := map[string]string{}
	const perFile = 100
	for f := 0; f*perFile < n; f++ {
		var src strings.Builder
		src.WriteString("package changes\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n)\n")
		for i := f * perFile; i < min(n, (f+1)*perFile); i++ {
			fmt.Fprintf(&src, `
// Change%[1]d creates table t%[1]d.
//
//flamingock:change id=change-%[1]d order=%[1]d author=bench
func Change%[1]d(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "CREATE TABLE t%[1]d (id int)")
	return err
}
`, i)
			if i%2 == 0 {
				fmt.Fprintf(&src, `
//flamingock:rollback change-%[1]d
func Undo%[1]d(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "DROP TABLE t%[1]d")
	return err
}
`, i)
			}
		}
		files[fmt.Sprintf("changes/changes%02d.go", f)] = src.String()
	}
	return files
}

// BenchmarkGenerate1000 is the whole generator on a package of 1,000
// changes: load, scan, check, checksum and render, in memory.
func BenchmarkGenerate1000(b *testing.B) {
	dir := sharedBenchModule(b)
	cfg := Config{Dir: dir, Patterns: []string{"./changes"}}
	reportCPU(b, func() {
		res, err := Generate(context.Background(), cfg)
		if err != nil || len(res.Diagnostics) > 0 || len(res.Files) != 1 {
			b.Fatalf("Generate: %v %v", err, res)
		}
	})
}

// BenchmarkLoadOnly1000 is the floor: go/packages loading the same
// package in the same mode, nothing else.
func BenchmarkLoadOnly1000(b *testing.B) {
	dir := sharedBenchModule(b)
	reportCPU(b, func() {
		pkgs, err := packages.Load(&packages.Config{Mode: loadMode, Dir: dir}, "./changes")
		if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
			b.Fatalf("Load: %v %v", err, pkgs)
		}
	})
}

// BenchmarkGenerateUnchanged1000 is the common case of go generate and of
// -check: the package's flamingock_gen.go is current. Its digest line
// matches the model, so nothing is rendered.
func BenchmarkGenerateUnchanged1000(b *testing.B) {
	dir := sharedGeneratedModule(b)
	cfg := Config{Dir: dir, Patterns: []string{"./changes"}}
	reportCPU(b, func() {
		res, err := Generate(context.Background(), cfg)
		if err != nil || len(res.Diagnostics) > 0 || len(res.Files) != 1 || res.Files[0].Stale() {
			b.Fatalf("Generate: %v %v", err, res)
		}
	})
}

// BenchmarkLoadOnlyGenerated1000 is the floor of the unchanged case:
// loading the package together with its flamingock_gen.go.
func BenchmarkLoadOnlyGenerated1000(b *testing.B) {
	dir := sharedGeneratedModule(b)
	reportCPU(b, func() {
		pkgs, err := packages.Load(&packages.Config{Mode: loadMode, Dir: dir}, "./changes")
		if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
			b.Fatalf("Load: %v %v", err, pkgs)
		}
	})
}

// BenchmarkGenerateRatios interleaves, in every iteration, the operations
// the generator is judged against and reports medians of their CPU time
// (this process and the go commands it ran) as ratios from the same run:
//
//	fresh/load      Generate of the package without a registry, over a
//	                go/packages load of the same package
//	unchanged/load  Generate with a current registry (nothing rendered),
//	                over a load of the package with its registry
//	check/load      `flamingock-gen -check` on the current package, over
//	                the same load
//
//	go test ./internal/gen -run '^$' -bench BenchmarkGenerateRatios -benchtime 15x
func BenchmarkGenerateRatios(b *testing.B) {
	fresh, current := sharedBenchModule(b), sharedGeneratedModule(b)
	load := func(dir string) {
		pkgs, err := packages.Load(&packages.Config{Mode: loadMode, Dir: dir}, "./changes")
		if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
			b.Fatalf("Load: %v %v", err, pkgs)
		}
	}
	generate := func(dir string, stale bool) {
		res, err := Generate(context.Background(), Config{Dir: dir, Patterns: []string{"./changes"}})
		if err != nil || len(res.Diagnostics) > 0 || len(res.Files) != 1 || res.Files[0].Stale() != stale {
			b.Fatalf("Generate: %v %v", err, res)
		}
	}
	check := func() {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), current, []string{"-check", "./changes"}, &stdout, &stderr); code != ExitOK {
			b.Fatalf("-check: exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
	}
	ops := []struct {
		name string
		op   func()
	}{
		{"load", func() { load(fresh) }},
		{"fresh", func() { generate(fresh, true) }},
		{"load-generated", func() { load(current) }},
		{"unchanged", func() { generate(current, false) }},
		{"check", check},
	}
	samples := make([][]time.Duration, len(ops))
	for b.Loop() {
		for i, o := range ops {
			runtime.GC()
			start, ok := cpuTime()
			o.op()
			end, ok2 := cpuTime()
			if !ok || !ok2 {
				b.Skip("no CPU time on this platform")
			}
			samples[i] = append(samples[i], end-start)
		}
	}
	med := make([]float64, len(ops))
	for i := range ops {
		slices.Sort(samples[i])
		med[i] = float64(samples[i][len(samples[i])/2])
		b.ReportMetric(med[i]/1e6, ops[i].name+"-cpu-ms")
	}
	b.ReportMetric(med[1]/med[0], "fresh/load")
	b.ReportMetric(med[3]/med[2], "unchanged/load")
	b.ReportMetric(med[4]/med[2], "check/load")
}

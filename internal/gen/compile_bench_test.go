//go:build unix

package gen

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCompile builds a package of N changes (benchFiles: a *sql.Tx
// dependency each, every other one with a rollback) with and without its
// generated flamingock_gen.go, alternating, and reports the CPU time and
// peak memory of `go build` for both and their ratio. The registry's
// added cost is ratio-1 times the compile time of the change functions
// themselves. Every build recompiles the package (a file with a new
// constant changes its build ID) and nothing else, so the figures include
// the go command's own fixed work, which weighs most at N = 100.
//
//	go test ./internal/gen -run '^$' -bench BenchmarkCompile -benchtime 1x
//
// N=10000 takes minutes; select sizes with -bench 'BenchmarkCompile/N=1000$'.
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeModuleAt(b, dir, benchFiles(n))
			res, err := Generate(context.Background(), Config{Dir: dir, Patterns: []string{"./changes"}})
			if err != nil || len(res.Diagnostics) > 0 {
				b.Fatalf("generate: %v %v", err, res)
			}
			if err := Write(res); err != nil {
				b.Fatal(err)
			}
			gen := filepath.Join(dir, "changes", OutputName)
			aside := gen + ".aside"
			build := func(nonce int, withRegistry bool) (cpu time.Duration, peakKB int64) {
				if withRegistry {
					os.Rename(aside, gen)
				} else {
					os.Rename(gen, aside)
				}
				write(b, filepath.Join(dir, "changes", "nonce.go"), fmt.Appendf(nil, "package changes\n\nconst nonce = %d\n", nonce))
				cmd := exec.Command("go", "build", "./changes")
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("go build (registry %v): %v\n%s", withRegistry, err, out)
				}
				// wait4 reports the go command with the compiler it waited
				// for: CPU summed, peak resident memory the larger.
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss
			}
			build(-1, true) // dependencies into the build cache
			const reps = 3
			var with, without []time.Duration
			var peakWith, peakWithout int64
			for b.Loop() {
				for i := range reps {
					c, m := build(2*i, true)
					with, peakWith = append(with, c), max(peakWith, m)
					c, m = build(2*i+1, false)
					without, peakWithout = append(without, c), max(peakWithout, m)
				}
			}
			os.Rename(aside, gen)
			minWith, minWithout := minOf(with), minOf(without)
			b.ReportMetric(minWith.Seconds(), "cpu-s-with")
			b.ReportMetric(minWithout.Seconds(), "cpu-s-without")
			b.ReportMetric(minWith.Seconds()/minWithout.Seconds(), "ratio")
			b.ReportMetric(float64(peakWith)/1024, "peak-MB-with")
			b.ReportMetric(float64(peakWithout)/1024, "peak-MB-without")
		})
	}
}

func minOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds[1:] {
		m = min(m, d)
	}
	return m
}

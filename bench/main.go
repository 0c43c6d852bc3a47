package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	envURL     = "FLAMINGOCK_POSTGRES_URL"
	defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

func main() {
	url := flag.String("url", cmp.Or(os.Getenv(envURL), defaultURL), "PostgreSQL server (default $"+envURL+" or the local server)")
	sizes := flag.String("sizes", "10,1000,10000", "numbers of applied changes for the startup measurement, comma-separated (each a size of bench/changes)")
	reps := flag.Int("reps", 9, "repetitions of each startup measurement")
	apply := flag.Int("apply", 1000, "number of changes applied from scratch (a size of bench/changes)")
	applyReps := flag.Int("apply-reps", 9, "repetitions of the apply measurement")
	flag.Parse()

	ns, err := parseSizes(*sizes)
	if err == nil && (*reps < 1 || *applyReps < 1) {
		err = fmt.Errorf("-reps and -apply-reps must be at least 1")
	}
	if _, ok := stages[*apply]; err == nil && !ok {
		err = fmt.Errorf("-apply: no generated package of %d changes in bench/changes (sizes 10, 1000, 10000)", *apply)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *url, ns, *reps, *apply, *applyReps); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-sizes: %q is not a positive number", f)
		}
		if _, ok := stages[n]; !ok {
			return nil, fmt.Errorf("-sizes: no generated package of %d changes in bench/changes (sizes 10, 1000, 10000)", n)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func run(ctx context.Context, url string, ns []int, reps, apply, applyReps int) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse -url: %w", err)
	}
	wire, err := startWireCounter(net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	if err != nil {
		return err
	}
	defer wire.close()
	srv := &server{url: url, wire: wire}
	if err := describe(ctx, srv, reps, apply, applyReps); err != nil {
		return err
	}

	fmt.Println("\n### Startup with N changes applied, nothing pending")
	fmt.Println()
	var fresh, reused []startupRow
	for _, n := range ns {
		f, w, err := measureStartup(ctx, srv, n, reps)
		if err != nil {
			return fmt.Errorf("startup, N=%d: %w", n, err)
		}
		fresh, reused = append(fresh, f), append(reused, w)
		fmt.Fprintf(os.Stderr, "startup N=%d done\n", n)
	}
	printStartup("Fresh pool: a new pool (or *sql.DB) per start, connected by its first statement; build the tool from its registry, apply pending (none).", fresh)
	printStartup("Reused pool: the same, on a pool connected and warmed before the clock starts.", reused)
	printFlatness(fresh, reused)

	fmt.Printf("\n### Applying %d trivial transactional changes from scratch\n\n", apply)
	rows, err := measureApply(ctx, srv, apply, applyReps)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	printApply(apply, rows)
	return nil
}

// describe prints the machine, the server and the settings of the run.
func describe(ctx context.Context, srv *server, reps, apply, applyReps int) error {
	c, err := pgx.Connect(ctx, srv.url)
	if err != nil {
		return fmt.Errorf("connect to %s: %w (start a local server or set -url / %s)", redact(srv.url), err, envURL)
	}
	defer c.Close(context.Background())
	var version, fsync, syncCommit string
	if err := c.QueryRow(ctx, "SELECT version(), current_setting('fsync'), current_setting('synchronous_commit')").Scan(&version, &fsync, &syncCommit); err != nil {
		return err
	}
	fmt.Println("### Setup")
	fmt.Println()
	fmt.Printf("- machine: %s, %d CPUs (GOMAXPROCS %d), %s/%s, %s\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Printf("- server: %s (fsync=%s, synchronous_commit=%s), reached over TCP on %s\n", version, fsync, syncCommit, redact(srv.url))
	fmt.Printf("- repetitions: startup %d per N and system, apply %d per system; times are medians\n", reps, applyReps)
	fmt.Printf("- apply: %d changes, each one INSERT of one row inside its own transaction\n", apply)
	return nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown CPU"
}

func redact(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "(unparsable URL)"
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// measurement is what one system did in one measured operation.
type measurement struct {
	times []time.Duration
	// statements per operation counted by the tracer (timed passes), and
	// round trips counted on the wire (counting pass).
	traced tally
	ops    int64
	wire   int64
	// walBytes is the WAL the server wrote during each timed apply.
	walBytes []int64
	// mallocs and allocBytes are the process's heap allocations during
	// each timed apply (runtime.MemStats; the bench does nothing else
	// meanwhile).
	mallocs, allocBytes []uint64
}

func (m *measurement) median() time.Duration { return median(m.times) }

func median(times []time.Duration) time.Duration {
	s := slices.Clone(times)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (m *measurement) tracedPerOp() float64 {
	return float64(m.traced.roundTrips()) / float64(m.ops)
}

type startupRow struct {
	n       int
	systems []*measurement // in the order of systems
}

// startupMode is how a timed start reaches the server.
type startupMode int

const (
	// freshPool: a new pool (or *sql.DB) per start, connected by the
	// start's first statement, as in a new process.
	freshPool startupMode = iota
	// reusedPool: a pool connected and warmed before the clock starts,
	// as when an application builds the tool again in a running process.
	reusedPool
)

// measureStartup applies n changes with each system in its own schema,
// then times no-op starts in both modes: build the tool from the
// registry (flamingock: the generated Stage()) and apply what is pending,
// which is nothing. Within each repetition the systems run in turn, the
// first one rotating from repetition to repetition, each after a forced
// GC, so that no system always runs on a heap another left.
func measureStartup(ctx context.Context, srv *server, n, reps int) (fresh, reused startupRow, err error) {
	type state struct {
		schema string
		tr     *tracer
		h      handle // the reused pool
	}
	states := make([]*state, len(systems))
	defer func() {
		for _, st := range states {
			if st == nil {
				continue
			}
			if st.h != nil {
				st.h.close()
			}
			if st.schema != "" {
				if derr := srv.dropSchema(context.WithoutCancel(ctx), st.schema); derr != nil && err == nil {
					err = derr
				}
			}
		}
	}()
	fresh, reused = startupRow{n: n}, startupRow{n: n}
	for i, sys := range systems {
		st := &state{tr: &tracer{}}
		states[i] = st
		if st.schema, err = srv.newSchema(ctx, sys.name); err != nil {
			return
		}
		if st.h, err = sys.open(ctx, srv, conn{schema: st.schema, tracer: st.tr}); err != nil {
			return
		}
		// Apply the n changes; this is setup, not measured.
		if err = st.h.ready(ctx); err != nil {
			return
		}
		var t tool
		if t, err = buildAndUp(ctx, st.h, n, false); err != nil {
			err = fmt.Errorf("%s: applying %d changes: %w", sys.name, n, err)
			return
		}
		t.close()
		if err = checkItems(ctx, srv, st.schema, n); err != nil {
			err = fmt.Errorf("%s: %w", sys.name, err)
			return
		}
		fresh.systems = append(fresh.systems, &measurement{})
		reused.systems = append(reused.systems, &measurement{})
	}
	// Applying n changes with three systems leaves the server writing
	// dirty pages back; a checkpoint now keeps that out of the timed
	// starts (and needs a superuser, as the local test server's is).
	if err = srv.exec(ctx, "CHECKPOINT"); err != nil {
		err = fmt.Errorf("checkpoint after setup: %w", err)
		return
	}

	// One untimed round first: the first use of a statement on the reused
	// pool prepares it, which a long-lived process pays once.
	for r := -1; r < reps; r++ {
		for k := range systems {
			i := (max(r, 0) + k) % len(systems)
			st := states[i]
			for _, mode := range []startupMode{freshPool, reusedPool} {
				row := fresh
				if mode == reusedPool {
					row = reused
				}
				elapsed, traced, mallocs, serr := startOnce(ctx, srv, st.h, conn{schema: st.schema, tracer: st.tr, lazy: true}, systems[i], n, mode)
				if serr != nil {
					err = fmt.Errorf("%s: no-op start: %w", systems[i].name, serr)
					return
				}
				if r >= 0 {
					m := row.systems[i]
					m.times = append(m.times, elapsed)
					m.traced = addTally(m.traced, traced)
					m.mallocs = append(m.mallocs, mallocs)
					m.ops++
				}
			}
		}
	}
	return fresh, reused, nil
}

// startOnce times one no-op start of sys in mode: on the reused handle h,
// or on a new one opened lazily for c. It also returns the heap
// allocations the start made (the whole process's, during the start).
func startOnce(ctx context.Context, srv *server, h handle, c conn, sys system, n int, mode startupMode) (time.Duration, tally, uint64, error) {
	if mode == reusedPool {
		if err := h.ready(ctx); err != nil {
			return 0, tally{}, 0, err
		}
	}
	runtime.GC()
	var memBefore, memAfter runtime.MemStats
	runtime.ReadMemStats(&memBefore)
	before := c.tracer.read()
	start := time.Now()
	if mode == freshPool {
		var err error
		if h, err = sys.open(ctx, srv, c); err != nil {
			return 0, tally{}, 0, err
		}
		defer h.close()
	}
	t, err := buildAndUp(ctx, h, n, true)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&memAfter)
	if err != nil {
		return 0, tally{}, 0, err
	}
	traced := c.tracer.read().minus(before)
	t.close()
	return elapsed, traced, memAfter.Mallocs - memBefore.Mallocs, nil
}

// buildAndUp builds a tool for n changes and applies what is pending,
// checking that nothing (wantUpToDate) or something was.
func buildAndUp(ctx context.Context, h handle, n int, wantUpToDate bool) (tool, error) {
	t, err := h.build(ctx, n)
	if err != nil {
		return nil, err
	}
	upToDate, err := t.up(ctx)
	if err == nil && upToDate != wantUpToDate {
		if wantUpToDate {
			err = fmt.Errorf("changes were applied, none should have been pending")
		} else {
			err = fmt.Errorf("nothing was applied, %d changes should have been pending", n)
		}
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func addTally(a, b tally) tally {
	return tally{a.queries + b.queries, a.batches + b.batches, a.prepares + b.prepares, a.connects + b.connects}
}

// checkItems verifies that the changes inserted exactly rows 1..n.
func checkItems(ctx context.Context, srv *server, schema string, n int) error {
	c, err := pgx.Connect(ctx, srv.url)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	var count, lo, hi int64
	err = c.QueryRow(ctx, "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM "+pgx.Identifier{schema, "items"}.Sanitize()).Scan(&count, &lo, &hi)
	if err != nil {
		return err
	}
	if count != int64(n) || lo != 1 || hi != int64(n) {
		return fmt.Errorf("items holds %d rows from %d to %d, want %d rows from 1 to %d", count, lo, hi, n, n)
	}
	return nil
}

// measureApply applies n changes to a fresh schema with each system,
// repetitions interleaved across systems, and once more through the wire
// counter.
func measureApply(ctx context.Context, srv *server, n, reps int) ([]*measurement, error) {
	ms := make([]*measurement, len(systems))
	for i := range ms {
		ms[i] = &measurement{}
	}
	for r := 0; r <= reps; r++ {
		counting := r == reps
		for k := range systems {
			i := (r + k) % len(systems) // rotate which system goes first
			sys := systems[i]
			elapsed, traced, turns, wal, heap, err := applyOnce(ctx, srv, sys, n, counting)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sys.name, err)
			}
			if counting {
				ms[i].wire = turns
				continue
			}
			ms[i].times = append(ms[i].times, elapsed)
			ms[i].traced = addTally(ms[i].traced, traced)
			ms[i].ops += int64(n)
			ms[i].walBytes = append(ms[i].walBytes, wal)
			ms[i].mallocs = append(ms[i].mallocs, heap.Mallocs)
			ms[i].allocBytes = append(ms[i].allocBytes, heap.TotalAlloc)
		}
		fmt.Fprintf(os.Stderr, "apply round %d/%d done\n", r+1, reps+1)
	}
	return ms, nil
}

func applyOnce(ctx context.Context, srv *server, sys system, n int, viaWire bool) (elapsed time.Duration, traced tally, turns, wal int64, heap runtime.MemStats, err error) {
	schema, err := srv.newSchema(ctx, sys.name)
	if err != nil {
		return
	}
	defer func() {
		if derr := srv.dropSchema(context.WithoutCancel(ctx), schema); derr != nil && err == nil {
			err = derr
		}
	}()
	tr := &tracer{}
	h, err := sys.open(ctx, srv, conn{schema: schema, tracer: tr, viaWire: viaWire})
	if err != nil {
		return
	}
	defer h.close()
	if err = h.ready(ctx); err != nil {
		return
	}
	lsn, err := srv.walPosition(ctx)
	if err != nil {
		return
	}
	runtime.GC()
	var memBefore runtime.MemStats
	runtime.ReadMemStats(&memBefore)
	before, wireBefore := tr.read(), srv.wire.turns.Load()
	start := time.Now()
	t, err := buildAndUp(ctx, h, n, false)
	elapsed = time.Since(start)
	runtime.ReadMemStats(&heap)
	heap.Mallocs -= memBefore.Mallocs
	heap.TotalAlloc -= memBefore.TotalAlloc
	if err != nil {
		return
	}
	traced, turns = tr.read().minus(before), srv.wire.turns.Load()-wireBefore
	t.close()
	if wal, err = srv.walSince(ctx, lsn); err != nil {
		return
	}
	return elapsed, traced, turns, wal, heap, checkItems(ctx, srv, schema, n)
}

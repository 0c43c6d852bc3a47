package pgtarget_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	"github.com/flamingock/flamingock-go/internal/pgtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// The reliability tests (reliability_*_test.go) run pipelines against the
// local PostgreSQL in child processes: this test binary, re-executed by
// internal/crashtest with the parameters of relChildParams, which TestMain
// dispatches on before any test runs. A child kills itself with SIGKILL at
// a named step, or is paused with SIGSTOP by the parent, and reports what
// it saw as JSON lines on stdout.

func TestMain(m *testing.M) { crashtest.Main(m, relChild) }

// Steps of the crash table that only the database traffic shows, besides
// crashtest's: the COMMIT of change "one" is about to be sent, or has
// succeeded and nothing after it ran.
const (
	relBeforeCommit = "before-commit"
	relAfterCommit  = "after-commit"
)

// relLayout says where a pipeline's audit store and target live: the same
// schema means one pool for both (shared transactions), two schemas mean
// two pools (commit markers).
type relLayout struct {
	URL          string
	AuditSchema  string
	TargetSchema string
}

func (l relLayout) shared() bool { return l.AuditSchema == l.TargetSchema }

// relEnv is a pipeline's wiring: the audit store, the target, their pools.
type relEnv struct {
	layout     relLayout
	targetPool *pgxpool.Pool
	storePool  *pgxpool.Pool
	store      *postgres.Store
	target     *pgtarget.Target
}

// relPoolConfig is what parent and child do to every pool: few
// connections (many processes share the server), and an application name
// that lets a test find the pool's backends in pg_stat_activity.
func relPoolConfig(cfg *pgxpool.Config, role, schema string) {
	cfg.MaxConns = 3
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = relAppName(role, schema)
}

// relAppName fits in PostgreSQL's 63 bytes: pgtest's schema names are at
// most 55.
func relAppName(role, schema string) string { return role + ":" + schema }

// relWire builds the store and target on the given pools.
func relWire(ctx context.Context, l relLayout, targetPool, storePool *pgxpool.Pool) (*relEnv, error) {
	store, err := postgres.New(ctx, storePool, postgres.WithSchema(l.AuditSchema))
	if err != nil {
		return nil, err
	}
	target, err := pgtarget.New("db", targetPool, pgtarget.WithSchema(l.TargetSchema))
	if err != nil {
		return nil, err
	}
	return &relEnv{layout: l, targetPool: targetPool, storePool: storePool, store: store, target: target}, nil
}

// relSlots bounds how many reliability cases hold connections at once,
// whatever -parallel is: each case uses up to about six, and the server's
// default max_connections is 100.
var relSlots = make(chan struct{}, 8)

// relParallel marks a case parallel and takes one of relSlots for it.
func relParallel(t *testing.T) {
	t.Parallel()
	relSlots <- struct{}{}
	t.Cleanup(func() { <-relSlots })
}

// relNewEnv creates the schemas of a protocol's layout (one for shared,
// two otherwise), the effects table the test changes write to, and the
// audit tables, so that children find everything in place. configure, when
// given, adjusts both pools.
func relNewEnv(t *testing.T, protocol string, configure ...func(*pgxpool.Config)) *relEnv {
	t.Helper()
	target := pgtest.New(t)
	auditSchema := target
	if protocol != "shared" {
		auditSchema = pgtest.New(t)
	}
	l := relLayout{URL: target.URL, AuditSchema: auditSchema.Name, TargetSchema: target.Name}
	pool := func(s pgtest.Schema, role string) *pgxpool.Pool {
		return s.Pool(t, func(c *pgxpool.Config) {
			relPoolConfig(c, role, s.Name)
			for _, f := range configure {
				f(c)
			}
		})
	}
	targetPool := pool(target, "target")
	storePool := targetPool
	if !l.shared() {
		storePool = pool(auditSchema, "audit")
	}
	ctx := context.Background()
	if _, err := targetPool.Exec(ctx, "CREATE TABLE effects (change_id text NOT NULL, pid integer NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	e, err := relWire(ctx, l, targetPool, storePool)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// relOpenChild is relNewEnv's counterpart in a child: it connects to what
// the parent created.
func relOpenChild(ctx context.Context, configure func(*pgxpool.Config)) (*relEnv, error) {
	l := relLayout{URL: crashtest.Param("URL"), AuditSchema: crashtest.Param("AUDIT_SCHEMA"), TargetSchema: crashtest.Param("TARGET_SCHEMA")}
	connect := func(role, schema string) (*pgxpool.Pool, error) {
		cfg, err := pgxpool.ParseConfig(l.URL)
		if err != nil {
			return nil, err
		}
		relPoolConfig(cfg, role, schema)
		if configure != nil {
			configure(cfg)
		}
		return pgxpool.NewWithConfig(ctx, cfg)
	}
	targetPool, err := connect("target", l.TargetSchema)
	if err != nil {
		return nil, err
	}
	storePool := targetPool
	if !l.shared() {
		if storePool, err = connect("audit", l.AuditSchema); err != nil {
			return nil, err
		}
	}
	return relWire(ctx, l, targetPool, storePool)
}

func (e *relEnv) runner(p flamingock.Pipeline, opts ...flamingock.Option) (*flamingock.Runner, error) {
	opts = append([]flamingock.Option{flamingock.WithAuditStore(e.store), flamingock.WithTargets(e.target),
		flamingock.WithLockWait(30 * time.Second)}, opts...)
	return flamingock.New(p, opts...)
}

func (e *relEnv) mustRunner(t *testing.T, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	r, err := e.runner(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// effects counts the rows change id wrote to the target: how many times it
// took effect.
func (e *relEnv) effects(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := e.targetPool.QueryRow(context.Background(), "SELECT count(*) FROM effects WHERE change_id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *relEnv) entries(t *testing.T, id string) []audit.Entry {
	t.Helper()
	h, err := e.store.History(context.Background(), audit.HistoryQuery{ChangeID: id})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// history is the states of a change's entries, oldest first, joined by
// commas.
func (e *relEnv) history(t *testing.T, id string) string {
	t.Helper()
	var s []string
	for _, x := range e.entries(t, id) {
		s = append(s, string(x.State))
	}
	return strings.Join(s, ",")
}

// checkConsistent asserts that nothing in the store is half written: the
// latest-state table holds exactly the newest history entry of every
// change, and no lease is left held.
func (e *relEnv) checkConsistent(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	all, err := e.store.History(ctx, audit.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	newest := map[string]audit.Entry{}
	for _, x := range all {
		newest[x.ChangeID] = x
	}
	snap, err := e.store.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != len(newest) {
		t.Errorf("snapshot has %d changes, history %d", len(snap), len(newest))
	}
	for id, h := range newest {
		if s, ok := snap[id]; !ok || s.Seq != h.Seq || s.State != h.State {
			t.Errorf("%s: latest state is seq %d %s, newest history entry is seq %d %s", id, s.Seq, s.State, h.Seq, h.State)
		}
	}
	if li, err := e.store.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("lock after the runs: %+v, %v; want it released (ErrNoLock)", li, err)
	}
}

// relDB is what a test change writes through: the pgx.Tx of a
// transactional change, or the connection a non-transactional change
// acquires from the target's pool.
type relDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// relHook lets a test act at a named step of a change: crashtest.ApplyBegin
// before its write, crashtest.ApplyEnd after it. An error stops the change.
type relHook func(ctx context.Context, change, step string, db relDB) error

func (h relHook) at(ctx context.Context, change, step string, db relDB) error {
	if h == nil {
		return nil
	}
	return h(ctx, change, step, db)
}

// relApply is the body of every test change: one row in effects, between
// the two hook steps.
func relApply(ctx context.Context, id string, db relDB, h relHook) error {
	if err := h.at(ctx, id, crashtest.ApplyBegin, db); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, "INSERT INTO effects (change_id, pid) VALUES ($1, $2)", id, os.Getpid()); err != nil {
		return err
	}
	return h.at(ctx, id, crashtest.ApplyEnd, db)
}

// relTxChange and relPoolChange build changes as generated code does: the
// adapter resolves the typed parameter and calls the function.
func relTxChange(id, order string, recovery flamingock.Recovery, h relHook) flamingock.Change {
	return flamingock.Change{
		ID: id, Order: order, Author: "reliability", Target: "db", Transactional: true, Recovery: recovery,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflect.Type{flamingock.TypeOf[pgx.Tx]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			tx, err := targets.Resolve[pgx.Tx](d)
			if err != nil {
				return err
			}
			return relApply(ctx, id, tx, h)
		}),
	}
}

func relPoolChange(id, order string, recovery flamingock.Recovery, h relHook) flamingock.Change {
	return flamingock.Change{
		ID: id, Order: order, Author: "reliability", Target: "db", Transactional: false, Recovery: recovery,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflect.Type{flamingock.TypeOf[*pgxpool.Pool]()},
		Apply: flamingock.ChangeFunc(func(ctx context.Context, d *targets.Deps) error {
			pool, err := targets.Resolve[*pgxpool.Pool](d)
			if err != nil {
				return err
			}
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			return relApply(ctx, id, conn, h)
		}),
	}
}

// relPipeline is the two-change pipeline of the crash, fencing and
// connection tests: "one" is the change interrupted, "two" follows it in
// the same stage, both under the protocol named.
func relPipeline(protocol string, recovery flamingock.Recovery, h relHook) flamingock.Pipeline {
	build := relTxChange
	if protocol == "nontx" {
		build = relPoolChange
	}
	return flamingock.NewPipeline(flamingock.Stage{Name: "reliability", Changes: []flamingock.Change{
		build("one", "1", recovery, h), build("two", "2", recovery, nil),
	}})
}

// relChildParams are the parameters of a child of the given mode (crash,
// concurrent or pause), for crashtest.Command and crashtest.RunUntilKilled.
// A crash child dies at the step it is started with; a paused one waits at
// pauseAt.
func relChildParams(mode string, l relLayout, protocol string, recovery flamingock.Recovery, pauseAt string) map[string]string {
	return map[string]string{"MODE": mode, "URL": l.URL, "AUDIT_SCHEMA": l.AuditSchema, "TARGET_SCHEMA": l.TargetSchema,
		"PROTOCOL": protocol, "RECOVERY": string(recovery), "PAUSE_AT": pauseAt}
}

// relChildReport is what a concurrent or paused child prints when its run
// ends.
type relChildReport struct {
	PID     int      `json:"pid"`
	RunID   string   `json:"run_id"`
	Applied []string `json:"applied"`
	Err     string   `json:"err"`
	// Fenced and LeaseLost test the run's error with errors.Is.
	Fenced    bool `json:"fenced"`
	LeaseLost bool `json:"lease_lost"`
	// Cause is the cause of the paused change's context when it resumed.
	Cause          string `json:"cause"`
	CauseLeaseLost bool   `json:"cause_lease_lost"`
}

func relChild() int {
	ctx := context.Background()
	protocol := crashtest.Param("PROTOCOL")
	recovery := flamingock.Recovery(crashtest.Param("RECOVERY"))
	var err error
	switch mode := crashtest.Param("MODE"); mode {
	case "crash":
		err = relCrashChild(ctx, protocol, recovery)
	case "concurrent":
		err = relConcurrentChild(ctx)
	case "pause":
		err = relPauseChild(ctx, protocol, recovery, crashtest.Param("PAUSE_AT"))
	case "undo-crash":
		err = undoCrashChild(ctx, protocol)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// relKillTracer kills the process at a step of change "one" that only
// the database traffic shows: around the COMMIT (in a batch with the
// APPLIED append under the shared protocol, a plain "commit" on the target
// otherwise) and before the APPLIED append.
type relKillTracer struct {
	current *atomic.Value // id of the change running, set by a listener
}

func (k *relKillTracer) inOne() bool {
	id, _ := k.current.Load().(string)
	return id == "one"
}

func (k *relKillTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if !k.inOne() {
		return ctx
	}
	switch {
	case strings.EqualFold(d.SQL, "commit"):
		crashtest.At(relBeforeCommit)
	case len(d.Args) > 5 && d.Args[5] == string(audit.Applied) && strings.HasPrefix(d.SQL, "WITH ins AS"):
		crashtest.At(crashtest.BeforeApplied)
	}
	return ctx
}

func (k *relKillTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if k.inOne() && d.Err == nil && d.CommandTag.String() == "COMMIT" {
		crashtest.At(relAfterCommit)
	}
}

func (k *relKillTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if k.inOne() {
		for _, q := range d.Batch.QueuedQueries {
			if q.SQL == "COMMIT" {
				crashtest.At(relBeforeCommit)
			}
		}
	}
	return ctx
}

func (k *relKillTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (k *relKillTracer) TraceBatchEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	if k.inOne() && d.Err == nil {
		crashtest.At(relAfterCommit)
	}
}

// relCrashChild runs the two-change pipeline and dies at crashtest.Step()
// of change "one". Returning at all means the step was never reached.
func relCrashChild(ctx context.Context, protocol string, recovery flamingock.Recovery) error {
	var current atomic.Value
	current.Store("")
	tracer := &relKillTracer{current: &current}
	e, err := relOpenChild(ctx, func(c *pgxpool.Config) { c.ConnConfig.Tracer = tracer })
	if err != nil {
		return err
	}
	hook := func(_ context.Context, change, s string, _ relDB) error {
		if change == "one" {
			crashtest.At(s)
		}
		return nil
	}
	r, err := e.runner(relPipeline(protocol, recovery, hook), flamingock.WithLockTTL(time.Second),
		flamingock.WithListener(func(ev flamingock.Event) {
			switch ev := ev.(type) {
			case flamingock.ChangeStarted:
				current.Store(ev.ChangeID)
			case flamingock.ChangeFinished:
				current.Store("")
			}
		}), crashtest.KillAfterRecorded("one"))
	if err != nil {
		return err
	}
	_, err = r.Run(ctx)
	return fmt.Errorf("run ended without reaching step %q: %v", crashtest.Step(), err)
}

// relReport prints a child's report as one JSON line on stdout.
func relReport(rep relChildReport) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", b)
	return err
}

// relProc is a running child. Its stdout is an os.Pipe rather than
// exec's StdoutPipe, so that the child's last lines can still be read after
// it exited.
type relProc struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stdin  io.WriteCloser // nil unless asked for
	stderr strings.Builder
	done   chan struct{}
	err    error // of cmd.Wait, once done is closed
}

// relStart starts cmd and makes sure it is gone (killed, even if stopped)
// when the test ends.
func relStart(t *testing.T, cmd *exec.Cmd, withStdin bool) *relProc {
	t.Helper()
	p := &relProc{cmd: cmd, done: make(chan struct{})}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	cmd.Stderr = &p.stderr
	if withStdin {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	p.out = bufio.NewReader(pr)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		pr.Close()
		if t.Failed() && p.stderr.Len() > 0 {
			t.Logf("child %d stderr:\n%s", cmd.Process.Pid, p.stderr.String())
		}
	})
	return p
}

// readLine reads one line of the child's stdout, failing t if none
// arrives within wait: a child that hangs must not hang the test.
func (p *relProc) readLine(t *testing.T, wait time.Duration) string {
	t.Helper()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := p.out.ReadString('\n')
		ch <- result{l, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("child %d: reading its output: %v (got %q)", p.cmd.Process.Pid, res.err, res.line)
		}
		return strings.TrimSpace(res.line)
	case <-time.After(wait):
		t.Fatalf("child %d: no line on its stdout within %v", p.cmd.Process.Pid, wait)
		return ""
	}
}

// wait waits for the child to exit and returns cmd.Wait's error, failing t
// after wait.
func (p *relProc) wait(t *testing.T, wait time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(wait):
		t.Fatalf("child %d did not exit within %v", p.cmd.Process.Pid, wait)
		return nil
	}
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"sync"
	"testing/fstest"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// Every change of every system is this statement with its own number: one
// row in the items table, inside the change's transaction.
const insertItem = "INSERT INTO items (id) VALUES ($1)"

// system is one of the tools compared.
type system struct {
	name string
	open func(ctx context.Context, srv *server, c conn) (handle, error)
}

var systems = []system{
	{"flamingock", openFlamingock},
	{"goose", openGoose},
	{"migrate", openMigrate},
}

// handle is a system's connection to one schema.
type handle interface {
	// ready does, untimed, what the next build needs beforehand.
	ready(ctx context.Context) error
	// build makes the tool from the definitions of changes 1..n, the way an
	// application does at startup.
	build(ctx context.Context, n int) (tool, error)
	close()
}

// tool is a built instance of a system.
type tool interface {
	// up applies every pending change and reports whether none was.
	up(ctx context.Context) (upToDate bool, err error)
	close()
}

// --- flamingock-go ---------------------------------------------------------

// flamingockHandle runs flamingock with the audit store and the target on
// the same pool, so changes use the shared-transaction protocol (each
// change and its audit entry commit together).
type flamingockHandle struct {
	pool   *pgxpool.Pool
	schema string
}

func openFlamingock(ctx context.Context, srv *server, c conn) (handle, error) {
	pool, err := srv.pool(ctx, c)
	if err != nil {
		return nil, err
	}
	return &flamingockHandle{pool: pool, schema: c.schema}, nil
}

func (h *flamingockHandle) ready(context.Context) error { return nil }

func (h *flamingockHandle) build(ctx context.Context, n int) (tool, error) {
	store, err := postgres.New(ctx, h.pool, postgres.WithSchema(h.schema))
	if err != nil {
		return nil, err
	}
	target, err := pgtarget.New("db", h.pool, pgtarget.WithSchema(h.schema))
	if err != nil {
		return nil, err
	}
	r, err := flamingock.New(flamingock.NewPipeline(flamingockStage(n)),
		flamingock.WithAuditStore(store), flamingock.WithTargets(target),
		flamingock.WithLogger(slog.New(slog.DiscardHandler))) // as goose: measure the work, not the log
	if err != nil {
		return nil, err
	}
	return flamingockTool{r}, nil
}

func (h *flamingockHandle) close() { h.pool.Close() }

type flamingockTool struct{ r *flamingock.Runner }

func (t flamingockTool) up(ctx context.Context) (bool, error) {
	rep, err := t.r.Run(ctx)
	if err != nil {
		return false, err
	}
	return rep.UpToDate, nil
}

func (flamingockTool) close() {}

// definitions stand for what a binary with n changes holds before it
// starts: the ids, orders and checksums flamingock-gen writes as string
// literals, and one top-level function per change (for goose, the Go
// migration functions). They are made once per n, outside any timing, so
// that a timed build does what an application's startup does with them and
// no formatting that a real binary would not do.
type definitions struct {
	ids, orders, checksums []string
	flamingock             []func(context.Context, pgx.Tx) error
	goose                  []func(context.Context, *sql.Tx) error
}

var (
	definitionsMu    sync.Mutex
	definitionsCache = map[int]*definitions{}
)

func definitionsFor(n int) *definitions {
	definitionsMu.Lock()
	defer definitionsMu.Unlock()
	if d, ok := definitionsCache[n]; ok {
		return d
	}
	d := &definitions{}
	for i := range n {
		v := int64(i + 1)
		d.ids = append(d.ids, fmt.Sprintf("insert-item-%06d", v))
		d.orders = append(d.orders, fmt.Sprintf("%06d", v))
		d.checksums = append(d.checksums, fmt.Sprintf("sha256:%064x", v))
		d.flamingock = append(d.flamingock, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, insertItem, v)
			return err
		})
		d.goose = append(d.goose, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, insertItem, v)
			return err
		})
	}
	definitionsCache[n] = d
	return d
}

// flamingockStage builds what flamingock-gen generates for n changes each
// declared as
//
//	//flamingock:change id=insert-item-000042 order=000042 target=db
//	func InsertItem000042(ctx context.Context, tx pgx.Tx) error
//
// the way the generated Stage function does at startup: one Change value
// per change with its literals, its Needs and the Func1 adapter. The bench
// builds the values in a loop because 10,000 source files would only slow
// the build; the runtime sees the same thing.
func flamingockStage(n int) flamingock.Stage {
	d := definitionsFor(n)
	changes := make([]flamingock.Change, 0, n)
	for i := range n {
		changes = append(changes, flamingock.Change{
			ID:            d.ids[i],
			Order:         d.orders[i],
			Author:        "bench",
			Target:        "db",
			Transactional: true,
			Recovery:      flamingock.RecoveryManual,
			Checksum:      d.checksums[i],
			Source:        flamingock.Position{File: "bench/changes.go", Line: i + 1},
			Needs:         []reflect.Type{flamingock.TypeOf[pgx.Tx]()},
			Apply:         flamingock.Func1[pgx.Tx](d.flamingock[i]),
		})
	}
	return flamingock.Stage{Name: "github.com/flamingock/flamingock-go/bench/changes", Changes: changes}
}

// --- goose -----------------------------------------------------------------

// gooseHandle runs goose's Provider with Go-function migrations registered
// on the provider (no global registry), over database/sql through pgx's
// stdlib driver. No locker is configured: goose locks only when asked.
type gooseHandle struct{ db *sql.DB }

func openGoose(ctx context.Context, srv *server, c conn) (handle, error) {
	db, err := srv.db(ctx, c)
	if err != nil {
		return nil, err
	}
	return &gooseHandle{db: db}, nil
}

func (h *gooseHandle) ready(context.Context) error { return nil }

func (h *gooseHandle) build(_ context.Context, n int) (tool, error) {
	d := definitionsFor(n)
	migrations := make([]*goose.Migration, n)
	for i := range migrations {
		migrations[i] = goose.NewGoMigration(int64(i+1), &goose.GoFunc{RunTx: d.goose[i]}, nil)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, h.db, nil,
		goose.WithGoMigrations(migrations...),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	return gooseTool{p}, nil
}

func (h *gooseHandle) close() { h.db.Close() }

type gooseTool struct{ p *goose.Provider }

func (t gooseTool) up(ctx context.Context) (bool, error) {
	res, err := t.p.Up(ctx)
	return len(res) == 0, err
}

// close leaves the *sql.DB open: Provider.Close would close it.
func (gooseTool) close() {}

// --- golang-migrate --------------------------------------------------------

// migrateHandle runs golang-migrate with its pgx v5 driver on SQL
// migrations read from an in-memory file system (it has no Go
// migrations). The driver's Close closes the *sql.DB it was given, so each
// build gets its own, opened and connected beforehand by ready.
type migrateHandle struct {
	srv   *server
	c     conn
	spare *sql.DB
}

func openMigrate(_ context.Context, srv *server, c conn) (handle, error) {
	return &migrateHandle{srv: srv, c: c}, nil
}

func (h *migrateHandle) ready(ctx context.Context) error {
	if h.spare != nil {
		return nil
	}
	db, err := h.srv.db(ctx, h.c)
	if err != nil {
		return err
	}
	h.spare = db
	return nil
}

func (h *migrateHandle) build(_ context.Context, n int) (tool, error) {
	if h.spare == nil {
		return nil, errors.New("migrate: build without ready")
	}
	db := h.spare
	h.spare = nil
	src, err := iofs.New(migrateFiles(n), ".")
	if err != nil {
		db.Close()
		return nil, err
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		db.Close()
		return nil, err
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		drv.Close()
		return nil, err
	}
	return migrateTool{m}, nil
}

func (h *migrateHandle) close() {
	if h.spare != nil {
		h.spare.Close()
	}
}

type migrateTool struct{ m *migrate.Migrate }

func (t migrateTool) up(context.Context) (bool, error) {
	err := t.m.Up()
	if errors.Is(err, migrate.ErrNoChange) {
		return true, nil
	}
	return false, err
}

func (t migrateTool) close() { t.m.Close() }

var (
	migrateFilesMu    sync.Mutex
	migrateFilesCache = map[int]fs.FS{}
)

// migrateFiles returns n up migrations, each one INSERT, as a static file
// system (like an embed.FS, built once per n).
func migrateFiles(n int) fs.FS {
	migrateFilesMu.Lock()
	defer migrateFilesMu.Unlock()
	if f, ok := migrateFilesCache[n]; ok {
		return f
	}
	files := fstest.MapFS{}
	for i := 1; i <= n; i++ {
		files[fmt.Sprintf("%06d_insert_item.up.sql", i)] = &fstest.MapFile{
			Data: fmt.Appendf(nil, "INSERT INTO items (id) VALUES (%d);\n", i),
		}
	}
	migrateFilesCache[n] = files
	return files
}

// flamingockSteps are the steps of a fresh flamingock startup with nothing
// pending, timed one by one, then parts of Run timed apart, and last the
// read that the digest saves.
var flamingockSteps = []string{
	"postgres.New (table check)",
	"build stage + flamingock.New",
	"Runner.Run",
	"of which AppliedDigest",
	"of which the pipeline's digest (N hashes)",
	"Snapshot (not read)",
}

// stepTimes times each of flamingockSteps once. The pipeline's digest is
// what Run computes once per Runner (ChangeDigest over every change); the
// snapshot is the read Run falls back to when the digests differ, timed to
// show what the digest saves.
func (h *flamingockHandle) stepTimes(ctx context.Context, n int) ([]time.Duration, error) {
	var d []time.Duration
	lap := func(start time.Time) { d = append(d, time.Since(start)) }

	start := time.Now()
	store, err := postgres.New(ctx, h.pool, postgres.WithSchema(h.schema))
	if err != nil {
		return nil, err
	}
	lap(start)

	start = time.Now()
	target, err := pgtarget.New("db", h.pool, pgtarget.WithSchema(h.schema))
	if err != nil {
		return nil, err
	}
	stage := flamingockStage(n)
	r, err := flamingock.New(flamingock.NewPipeline(stage),
		flamingock.WithAuditStore(store), flamingock.WithTargets(target),
		flamingock.WithLogger(slog.New(slog.DiscardHandler))) // as goose: measure the work, not the log
	if err != nil {
		return nil, err
	}
	lap(start)

	start = time.Now()
	rep, err := r.Run(ctx)
	if err != nil {
		return nil, err
	}
	lap(start)
	if !rep.UpToDate {
		return nil, errors.New("changes were applied, none should have been pending")
	}

	start = time.Now()
	stored, err := store.AppliedDigest(ctx)
	if err != nil {
		return nil, err
	}
	lap(start)

	start = time.Now()
	var pipeline audit.AppliedDigest
	for _, c := range stage.Changes {
		pipeline.Add(audit.ChangeDigest(c.ID, c.Checksum))
	}
	lap(start)
	if pipeline != stored {
		return nil, fmt.Errorf("the store's digest (%d applied) differs from the pipeline's (%d changes)", stored.Count, pipeline.Count)
	}

	start = time.Now()
	snap, err := store.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	lap(start)
	if len(snap) != n {
		return nil, fmt.Errorf("snapshot: %d changes, want %d", len(snap), n)
	}
	return d, nil
}

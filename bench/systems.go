package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"testing/fstest"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/bench/changes/n10"
	"github.com/flamingock/flamingock-go/bench/changes/n1000"
	"github.com/flamingock/flamingock-go/bench/changes/n10000"
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
	r, err := flamingock.New(flamingock.NewPipeline(stages[n]()),
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

// stages are the generated registries of bench/changes (go generate):
// the Stage() an application calls at each start.
var stages = map[int]func() flamingock.Stage{
	10:    n10.Stage,
	1000:  n1000.Stage,
	10000: n10000.Stage,
}

// definitions stand for what a goose binary with n Go migrations holds
// before it starts: one top-level function per migration. They are made
// once per n, outside any timing.
type definitions struct {
	goose []func(context.Context, *sql.Tx) error
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
		d.goose = append(d.goose, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, insertItem, v)
			return err
		})
	}
	definitionsCache[n] = d
	return d
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

func (h *migrateHandle) build(ctx context.Context, n int) (tool, error) {
	db := h.spare
	h.spare = nil
	if db == nil { // a fresh start: connect as part of the build
		var err error
		if db, err = h.srv.db(ctx, h.c); err != nil {
			return nil, err
		}
	}
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

// Command postgres applies the example's changes to a PostgreSQL database
// and keeps the audit trail in the same database, in a schema of its own.
// Run it twice: the second run finds nothing to do.
//
//	go run ./examples/postgres -url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// The changes live in changes/catalog and changes/orders, declared with
// //flamingock:change directives; their registries (flamingock_gen.go) are
// generated from the repository root with
//
//	go run ./cmd/flamingock-gen ./examples/postgres/changes/...
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/examples/postgres/changes/catalog"
	"github.com/flamingock/flamingock-go/examples/postgres/changes/orders"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// schemaName is what -schema accepts: a plain identifier, the same rule the
// store and the target apply.
var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func main() {
	url := flag.String("url", cmp.Or(os.Getenv("FLAMINGOCK_POSTGRES_URL"), defaultURL), "PostgreSQL server and database (default $FLAMINGOCK_POSTGRES_URL or the local server)")
	schema := flag.String("schema", "flamingock_example", "schema for the example's tables and its audit trail, created if missing")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := connectAndRun(ctx, *url, *schema); err != nil {
		fmt.Fprintln(os.Stderr, "postgres example:", err)
		os.Exit(1)
	}
}

func connectAndRun(ctx context.Context, url, schema string) error {
	if !schemaName.MatchString(schema) {
		return fmt.Errorf("-schema %q: a schema name must be 1 to 63 letters, digits or underscores, not starting with a digit", schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	// The changes use unqualified table names: they resolve in the schema.
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("connecting to %s:%d/%s and creating schema %s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, schema, err)
	}
	_, err = run(ctx, pool, schema, os.Stdout)
	return err
}

// run applies the pipeline to the database behind pool, with the audit
// store in schema, and prints what it did to out. The pool's search_path
// must lead to schema, where the changes create their tables.
func run(ctx context.Context, pool *pgxpool.Pool, schema string, out io.Writer) (*flamingock.Report, error) {
	// The store and the target share the pool: flamingock then commits
	// each transactional change together with its audit entry.
	store, err := postgres.New(ctx, pool, postgres.WithSchema(schema))
	if err != nil {
		return nil, err
	}
	db, err := pgtarget.New("catalog-db", pool, pgtarget.WithSchema(schema))
	if err != nil {
		return nil, err
	}
	runner, err := flamingock.New(
		flamingock.NewPipeline(catalog.Stage(), orders.Stage()),
		flamingock.WithAuditStore(store),
		flamingock.WithTargets(db),
		flamingock.WithService("postgres-example", "1.0.0"),
	)
	if err != nil {
		return nil, err
	}
	report, err := runner.Run(ctx)
	printReport(out, report, schema)
	return report, err
}

func printReport(out io.Writer, r *flamingock.Report, schema string) {
	if r.UpToDate {
		fmt.Fprintf(out, "Everything is up to date: %d changes applied, nothing pending (audit in schema %s).\n", r.Total, schema)
		return
	}
	applied := 0
	for _, c := range r.Changes {
		switch {
		case c.State == audit.Applied:
			applied++
			fmt.Fprintf(out, "  applied  %-20s %-18s %s\n", c.ChangeID, c.Protocol, c.Duration.Round(time.Microsecond))
		case c.State != "":
			fmt.Fprintf(out, "  %-8s %-20s %-18s %v\n", c.State, c.ChangeID, c.Protocol, c.Err)
		case c.Action == flamingock.ActionSkip:
			fmt.Fprintf(out, "  skipped  %-20s already applied\n", c.ChangeID)
		default:
			fmt.Fprintf(out, "  %-8s %-20s %s\n", c.Action, c.ChangeID, c.Reason)
		}
	}
	fmt.Fprintf(out, "Applied %d change(s); audit trail in schema %s.\n", applied, schema)
}

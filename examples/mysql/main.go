// Command mysql applies the example's changes to a MySQL or MariaDB
// database and keeps the audit trail in the same database. Run it twice:
// the second run finds nothing to do.
//
//	go run ./examples/mysql -dsn 'root@tcp(127.0.0.1:3306)/test'
//
// The changes live in changes/inventory, declared with //flamingock:change
// directives; their registry (flamingock_gen.go) is generated from the
// repository root with
//
//	go run ./cmd/flamingock-gen ./examples/mysql/changes/...
package main

import (
	"cmp"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
	auditmysql "github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/examples/mysql/changes/inventory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

const defaultDSN = "root@tcp(127.0.0.1:3306)/test"

func main() {
	dsn := flag.String("dsn", cmp.Or(os.Getenv("FLAMINGOCK_MYSQL_URL"), defaultDSN), "go-sql-driver/mysql DSN of the database for the example's table and its audit trail (default $FLAMINGOCK_MYSQL_URL or the local server)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := connectAndRun(ctx, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "mysql example:", err)
		os.Exit(1)
	}
}

func connectAndRun(ctx context.Context, dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	if cfg.DBName == "" {
		return fmt.Errorf("-dsn %q names no database: add one after the address, as in root@tcp(127.0.0.1:3306)/test", dsn)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connecting to %s, database %s, as %s: %w", cfg.Addr, cfg.DBName, cfg.User, err)
	}
	_, err = run(ctx, db, os.Stdout)
	return err
}

// run applies the pipeline to db, with the audit store in the same
// database, and prints what it did to out.
func run(ctx context.Context, db *sql.DB, out io.Writer) (*flamingock.Report, error) {
	// The store and the target share the *sql.DB: flamingock then commits
	// each transactional change together with its audit entry.
	store, err := auditmysql.New(ctx, db)
	if err != nil {
		return nil, err
	}
	target, err := sqltarget.New("inventory-db", db)
	if err != nil {
		return nil, err
	}
	runner, err := flamingock.New(
		flamingock.NewPipeline(inventory.Stage()),
		flamingock.WithAuditStore(store),
		flamingock.WithTargets(target),
		flamingock.WithService("mysql-example", "1.0.0"),
	)
	if err != nil {
		return nil, err
	}
	report, err := runner.Run(ctx)
	printReport(out, report)
	return report, err
}

func printReport(out io.Writer, r *flamingock.Report) {
	if r == nil {
		return
	}
	if r.UpToDate {
		fmt.Fprintf(out, "Everything is up to date: %d changes applied, nothing pending.\n", r.Total)
		return
	}
	applied := 0
	for _, c := range r.Changes {
		switch {
		case c.State == audit.Applied:
			applied++
			fmt.Fprintf(out, "  applied  %-16s %-10s %s\n", c.ChangeID, c.Protocol, c.Duration.Round(time.Microsecond))
		case c.State != "":
			fmt.Fprintf(out, "  %-8s %-16s %-10s %v\n", c.State, c.ChangeID, c.Protocol, c.Err)
		case c.Action == flamingock.ActionSkip:
			fmt.Fprintf(out, "  skipped  %-16s already applied\n", c.ChangeID)
		default:
			fmt.Fprintf(out, "  %-8s %-16s %s\n", c.Action, c.ChangeID, c.Reason)
		}
	}
	fmt.Fprintf(out, "Applied %d change(s).\n", applied)
}

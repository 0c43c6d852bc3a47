// Command quickstart applies a small pipeline of changes to an embedded
// SQLite database and an outbox directory, keeping the audit trail in the
// same SQLite file. Run it twice: the second run finds nothing to do. The
// runner logs to slog.Default (stderr): a line per change started and
// finished, the run's summary, and on the second run one "up to date" line.
//
//	go run ./examples/quickstart
//
// The operations commands are mounted under "flamingock":
//
//	go run ./examples/quickstart flamingock status
//	go run ./examples/quickstart flamingock audit list --history
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/cli"
	"github.com/flamingock/flamingock-go/examples/quickstart/changes/accounts"
	"github.com/flamingock/flamingock-go/examples/quickstart/changes/welcome"
	"github.com/flamingock/flamingock-go/examples/quickstart/outbox"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

func main() {
	dbPath := flag.String("db", "quickstart.db", "SQLite file holding the application data and the audit trail")
	outboxDir := flag.String("outbox", "quickstart-outbox", "directory the outbox writes messages to")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *dbPath, *outboxDir, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run applies the pipeline and writes its one-line summary to stdout, or
// with arguments "flamingock ..." runs an operations command against it. A
// failed run returns its error and writes no summary: the error is the
// news, and main prints it and exits non-zero.
func run(ctx context.Context, stdout io.Writer, dbPath, outboxDir string, args []string) error {
	// One database for the business data and the audit trail: the changes
	// of the accounts stage commit together with their audit entries.
	db, err := sqlite.OpenDB(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlite.New(ctx, db)
	if err != nil {
		return err
	}
	appDB, err := sqltarget.New("app-db", db)
	if err != nil {
		return err
	}
	box := &outbox.Outbox{Dir: outboxDir}
	outboxTarget := flamingock.NewDependencyTarget("outbox", box)

	progress := cli.NewProgress()
	runner, err := flamingock.New(
		flamingock.NewPipeline(accounts.Stage(), welcome.Stage()),
		flamingock.WithAuditStore(store),
		flamingock.WithTargets(appDB, outboxTarget),
		flamingock.WithDependency(db),
		flamingock.WithService("quickstart", "1.0.0"),
		progress.Listener(),
	)
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "flamingock" {
		// Mounted under the application's own command, so that the hints
		// the CLI prints name it as typed: "quickstart flamingock ...".
		root := &cobra.Command{Use: "quickstart"}
		root.AddCommand(cli.Command(runner, cli.WithProgress(progress)))
		os.Exit(cli.Execute(ctx, root, args, os.Stdin, stdout, os.Stderr))
	}
	report, err := runner.Run(ctx)
	if err != nil {
		return err
	}
	printReport(stdout, report, dbPath)
	return nil
}

// printReport ends the run's log (the runner logs each change to
// slog.Default as it goes) with one line from the report.
func printReport(w io.Writer, r *flamingock.Report, dbPath string) {
	if r.UpToDate {
		fmt.Fprintf(w, "Everything is up to date: %d changes applied, nothing pending (audit in %s).\n", r.Total, dbPath)
		return
	}
	fmt.Fprintf(w, "Applied %d of %d change(s) in %v; audit trail in %s.\n", countApplied(r), len(r.Changes), r.Finished.Sub(r.Started).Round(time.Millisecond), dbPath)
}

func countApplied(r *flamingock.Report) int {
	n := 0
	for _, c := range r.Changes {
		if c.State == "APPLIED" {
			n++
		}
	}
	return n
}

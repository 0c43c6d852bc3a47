// Command nocli is examples/quickstart without the mounted operations
// command: the same pipeline, store and targets, and a cobra root command.
// The size test compares the two binaries to measure what cli.Command adds.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/examples/quickstart/changes/accounts"
	"github.com/flamingock/flamingock-go/examples/quickstart/changes/welcome"
	"github.com/flamingock/flamingock-go/examples/quickstart/outbox"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

func main() {
	root := &cobra.Command{
		Use: "nocli",
		RunE: func(c *cobra.Command, _ []string) error {
			return run(c.Context(), "nocli.db", "nocli-outbox")
		},
	}
	if err := root.ExecuteContext(context.Background()); err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath, outboxDir string) error {
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
	runner, err := flamingock.New(
		flamingock.NewPipeline(accounts.Stage(), welcome.Stage()),
		flamingock.WithAuditStore(store),
		flamingock.WithTargets(appDB, flamingock.NewDependencyTarget("outbox", box)),
		flamingock.WithDependency(db),
		flamingock.WithService("nocli", "1.0.0"),
	)
	if err != nil {
		return err
	}
	report, err := runner.Run(ctx)
	if report != nil {
		fmt.Println(len(report.Changes), "changes")
	}
	return err
}

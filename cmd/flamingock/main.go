package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	// The stores the standalone command opens by URL: each registers its
	// schemes with package storeurl. Only this binary links them all.
	_ "github.com/flamingock/flamingock-go/audit/couchbase"
	_ "github.com/flamingock/flamingock-go/audit/mysql"
	_ "github.com/flamingock/flamingock-go/audit/postgres"
	_ "github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, cli.Standalone(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

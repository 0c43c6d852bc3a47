// Command couchbase applies the example's changes to product documents in
// a Couchbase bucket and keeps the audit trail in the same bucket (keys
// starting with "flamingock::"). Run it twice: the second run finds nothing
// to do.
//
//	go run ./examples/couchbase -connstr couchbase://127.0.0.1
//
// Without a Couchbase Server at hand, use gocaves, the SDK team's mock
// server, which the repository's tests build into the user cache:
//
//	go test ./internal/cbtest                                   # builds it once
//	~/.cache/flamingock-go/gocaves-v0.0.1-75/gocaves --mock-only  # prints {"connstr":"couchbase://127.0.0.1:…"}
//	go run ./examples/couchbase -connstr 'couchbase://127.0.0.1:…'
//
// The changes live in changes/catalog, declared with //flamingock:change
// directives; their registry (flamingock_gen.go) is generated from the
// repository root with
//
//	go run ./cmd/flamingock-gen ./examples/couchbase/changes/...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/examples/couchbase/changes/catalog"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/cbtarget"
)

func main() {
	connstr := flag.String("connstr", "", "Couchbase connection string, e.g. couchbase://127.0.0.1 (required)")
	user := flag.String("user", "Administrator", "user name")
	password := flag.String("password", "password", "password")
	bucket := flag.String("bucket", "default", "bucket for the products and the audit trail")
	flag.Parse()
	if *connstr == "" {
		fmt.Fprintln(os.Stderr, "couchbase example: -connstr is required (see `go doc ./examples/couchbase` for starting gocaves)")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := connectAndRun(ctx, *connstr, *user, *password, *bucket); err != nil {
		fmt.Fprintln(os.Stderr, "couchbase example:", err)
		os.Exit(1)
	}
}

func connectAndRun(ctx context.Context, connstr, user, password, bucket string) error {
	cluster, err := gocb.Connect(connstr, gocb.ClusterOptions{
		Authenticator: gocb.PasswordAuthenticator{Username: user, Password: password},
		// gocaves does not decompress; Couchbase Server does not need it off.
		CompressionConfig: gocb.CompressionConfig{Disabled: true},
	})
	if err != nil {
		return fmt.Errorf("-connstr %q: %w", connstr, err)
	}
	defer cluster.Close(nil)
	if err := cluster.Bucket(bucket).WaitUntilReady(20*time.Second, &gocb.WaitUntilReadyOptions{Context: ctx}); err != nil {
		return fmt.Errorf("bucket %q on %s is not ready: %w", bucket, connstr, err)
	}
	_, err = run(ctx, cluster, bucket, os.Stdout)
	return err
}

// run applies the pipeline to bucket and prints what it did to out.
func run(ctx context.Context, cluster *gocb.Cluster, bucket string, out io.Writer) (*flamingock.Report, error) {
	// The store and the target share the cluster connection and the
	// bucket: flamingock then commits each transactional change together
	// with its audit entry, in one Couchbase transaction.
	store, err := couchbase.New(ctx, cluster, bucket)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	target, err := cbtarget.New("catalog", cluster, bucket)
	if err != nil {
		return nil, err
	}
	runner, err := flamingock.New(
		flamingock.NewPipeline(catalog.Stage()),
		flamingock.WithAuditStore(store),
		flamingock.WithTargets(target),
		flamingock.WithService("couchbase-example", "1.0.0"),
	)
	if err != nil {
		return nil, err
	}
	report, err := runner.Run(ctx)
	if report == nil {
		return nil, errors.Join(errors.New("no report"), err)
	}
	printReport(out, report, bucket)
	return report, err
}

func printReport(out io.Writer, r *flamingock.Report, bucket string) {
	if r.UpToDate {
		fmt.Fprintf(out, "Everything is up to date: %d changes applied, nothing pending (audit in bucket %s).\n", r.Total, bucket)
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
	fmt.Fprintf(out, "Applied %d change(s); audit trail in bucket %s.\n", applied, bucket)
}

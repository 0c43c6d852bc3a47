// Command multisystem applies one ordered pipeline of changes to three
// target systems (Kafka, a SQL user database and S3) and records each
// change in one audit store kept apart from all of them: the picture in
// docs/targets.md.
//
//	go run ./examples/multisystem                        # in-process Kafka and S3, SQLite audit
//	go run ./examples/multisystem -audit postgres://postgres@127.0.0.1:5432/test
//	go run ./examples/multisystem -kafka localhost:9092 -s3-endpoint http://localhost:9000
//
// Without -kafka and -s3-endpoint it starts an in-process Kafka cluster
// (kfake) and an in-process S3 server (gofakes3), so it runs with no setup.
// Those start empty on every run; a second run still reports everything up
// to date, because what decides is the audit store, not the target systems.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/examples/multisystem/changes/rollout"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets/kafkatarget"
	"github.com/flamingock/flamingock-go/targets/s3target"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

// config is what the flags set.
type config struct {
	// audit is "sqlite:PATH" or a postgres:// URL.
	audit string
	// userDB is the SQLite file of the user database (a target system).
	userDB string
	// kafka lists the brokers; empty starts an in-process cluster.
	kafka []string
	// s3Endpoint is the S3 endpoint URL; empty starts an in-process server.
	s3Endpoint string
	bucket     string
	region     string
}

func main() {
	var cfg config
	var brokers string
	flag.StringVar(&cfg.audit, "audit", "sqlite:multisystem.db", "audit store: sqlite:PATH or a postgres:// URL")
	flag.StringVar(&cfg.userDB, "userdb", "multisystem-users.db", "SQLite file of the user database")
	flag.StringVar(&brokers, "kafka", "", "Kafka brokers, comma-separated (default: an in-process cluster, empty at start)")
	flag.StringVar(&cfg.s3Endpoint, "s3-endpoint", "", "S3 endpoint URL, path-style; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (default: an in-process server, empty at start)")
	flag.StringVar(&cfg.bucket, "bucket", "multisystem-reports", "S3 bucket for the report")
	flag.StringVar(&cfg.region, "region", "us-east-1", "S3 region")
	flag.Parse()
	if brokers != "" {
		cfg.kafka = strings.Split(brokers, ",")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "multisystem:", err)
		os.Exit(1)
	}
}

// run wires the systems, applies the pipeline and prints what it did.
func run(ctx context.Context, cfg config, out io.Writer) (*flamingock.Report, error) {
	store, closeStore, err := openAudit(ctx, cfg.audit)
	if err != nil {
		return nil, err
	}
	defer closeStore()

	// Target system 1: Kafka.
	kafkaLabel := "Kafka " + strings.Join(cfg.kafka, ",")
	if len(cfg.kafka) == 0 {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return nil, fmt.Errorf("starting the in-process Kafka cluster: %w", err)
		}
		defer cluster.Close()
		cfg.kafka = cluster.ListenAddrs()
		kafkaLabel = "Kafka (in-process, " + cfg.kafka[0] + ")"
	}
	client, err := kgo.NewClient(kgo.SeedBrokers(cfg.kafka...))
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer client.Close()
	// Every instance of the application uses the same transactional id, so
	// a new one fences the producer of one that died.
	txClient, err := kgo.NewClient(kgo.SeedBrokers(cfg.kafka...), kgo.TransactionalID("multisystem-flamingock"))
	if err != nil {
		return nil, fmt.Errorf("kafka transactional client: %w", err)
	}
	defer txClient.Close()
	events, err := kafkatarget.NewTransactional("events", client, txClient)
	if err != nil {
		return nil, err
	}

	// Target system 2: the user database, which the application already
	// has (created here with its users when missing).
	db, err := sqlite.OpenDB(cfg.userDB)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := ensureUsers(ctx, db); err != nil {
		return nil, fmt.Errorf("user database %s: %w", cfg.userDB, err)
	}
	userDB, err := sqltarget.New("user-db", db)
	if err != nil {
		return nil, err
	}

	// Target system 3: S3.
	s3Label := "S3 " + cfg.s3Endpoint
	if cfg.s3Endpoint == "" {
		endpoint, stopS3, err := startS3()
		if err != nil {
			return nil, err
		}
		defer stopS3()
		cfg.s3Endpoint = endpoint
		s3Label = "S3 (in-process, " + strings.TrimPrefix(endpoint, "http://") + ")"
	}
	s3Client := newS3Client(cfg.s3Endpoint, cfg.region)
	if err := ensureBucket(ctx, s3Client, cfg.bucket); err != nil {
		return nil, err
	}
	reports, err := s3target.New("reports", s3Client, s3target.WithBucket(cfg.bucket))
	if err != nil {
		return nil, err
	}

	runner, err := flamingock.New(
		flamingock.NewPipeline(rollout.Stage()),
		flamingock.WithAuditStore(store),
		flamingock.WithTargets(events, userDB, reports),
		flamingock.WithDependency(db),
		flamingock.WithService("multisystem", "1.0.0"),
	)
	if err != nil {
		return nil, err
	}
	report, err := runner.Run(ctx)
	systems := map[string]string{
		"events":  kafkaLabel,
		"user-db": "user database " + cfg.userDB,
		"reports": s3Label + ", bucket " + cfg.bucket,
	}
	printReport(out, report, runner.Pipeline(), systems, cfg.audit)
	return report, err
}

// openAudit opens the audit store the -audit flag names.
func openAudit(ctx context.Context, spec string) (audit.Store, func(), error) {
	switch {
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, nil, errors.New(`-audit sqlite: needs a file path, as in "sqlite:multisystem.db"`)
		}
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		pool, err := pgxpool.New(ctx, spec)
		if err != nil {
			return nil, nil, fmt.Errorf("-audit: %w", err)
		}
		s, err := postgres.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); pool.Close() }, nil
	}
	return nil, nil, fmt.Errorf("-audit %q: want sqlite:PATH or a postgres:// URL", spec)
}

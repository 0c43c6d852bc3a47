package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/flamingock/flamingock-go/examples/multisystem/changes/rollout"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// ensureUsers stands in for the application's existing user database: the
// users table with the seed users, created when missing.
func ensureUsers(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users (email TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	for _, email := range rollout.SeedUsers {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (email) VALUES (?) ON CONFLICT DO NOTHING`, email); err != nil {
			return err
		}
	}
	return nil
}

// startS3 serves an empty in-memory S3 on a loopback port.
func startS3() (endpoint string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("starting the in-process S3 server: %w", err)
	}
	srv := &http.Server{Handler: gofakes3.New(s3mem.New()).Server(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// newS3Client reaches endpoint path-style. Credentials come from the usual
// environment variables; the in-process server accepts any.
func newS3Client(endpoint, region string) *s3.Client {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" {
		id, secret = "multisystem", "multisystem"
	}
	return s3.New(s3.Options{
		Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")),
	})
}

// ensureBucket creates the bucket unless it is there already.
func ensureBucket(ctx context.Context, client *s3.Client, bucket string) error {
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	_, owned := errors.AsType[*types.BucketAlreadyOwnedByYou](err)
	_, exists := errors.AsType[*types.BucketAlreadyExists](err)
	if err != nil && !owned && !exists {
		return fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	return nil
}

// printReport says what was applied to which system, or that nothing was
// pending and why.
func printReport(out io.Writer, r *flamingock.Report, p flamingock.Pipeline, systems map[string]string, auditSpec string) {
	if r == nil {
		return
	}
	if r.UpToDate {
		fmt.Fprintf(out, "Everything is up to date: %d changes applied, nothing pending.\n", r.Total)
		fmt.Fprintf(out, "The audit store (%s) says so; the target systems were not consulted (an in-process Kafka or S3 started empty this run).\n", auditSpec)
		return
	}
	targetOf := map[string]string{}
	for _, s := range p {
		for _, c := range s.Changes {
			targetOf[c.ID] = c.Target
		}
	}
	applied := 0
	for _, c := range r.Changes {
		system := systems[targetOf[c.ChangeID]]
		switch {
		case c.State == "APPLIED":
			applied++
			fmt.Fprintf(out, "  %-8s %-24s -> %s (%s, %s)\n", c.State, c.ChangeID, system, c.Protocol, c.Duration.Round(time.Millisecond))
		case c.State != "":
			fmt.Fprintf(out, "  %-8s %-24s -> %s: %v\n", c.State, c.ChangeID, system, c.Err)
		case c.Action == flamingock.ActionSkip:
			fmt.Fprintf(out, "  %-8s %-24s -> %s (already applied)\n", "skipped", c.ChangeID, system)
		default:
			fmt.Fprintf(out, "  %-8s %-24s -> %s: %s\n", c.Action, c.ChangeID, system, c.Reason)
		}
	}
	fmt.Fprintf(out, "Applied %d change(s), each recorded in the audit store %s.\n", applied, strings.TrimSpace(auditSpec))
}

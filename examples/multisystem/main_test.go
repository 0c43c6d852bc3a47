package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/examples/multisystem/changes/rollout"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

// The first run, against a Kafka cluster and an S3 server the test owns,
// applies the four changes; the test then checks each system. The second
// run uses the program's own in-process servers, which start empty, and is
// still up to date: the audit store decides.
func TestAppliesToEverySystemThenIsUpToDate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	endpoint, stopS3, err := startS3()
	if err != nil {
		t.Fatal(err)
	}
	defer stopS3()
	cfg := config{
		audit: "sqlite:" + filepath.Join(dir, "audit.db"), userDB: filepath.Join(dir, "users.db"),
		kafka: cluster.ListenAddrs(), s3Endpoint: endpoint, bucket: "reports", region: "us-east-1",
	}

	var out bytes.Buffer
	rep, err := run(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.UpToDate {
		t.Fatal("first run reported up to date")
	}
	for _, id := range []string{"configure-events-topic", "seed-user-events", "add-user-status", "publish-user-report"} {
		if !strings.Contains(out.String(), "APPLIED  "+id) {
			t.Errorf("output does not report %s applied:\n%s", id, out.String())
		}
	}

	checkKafka(t, cluster.ListenAddrs())
	checkReport(t, newS3Client(endpoint, "us-east-1"), "reports")
	checkUsers(t, cfg.userDB)

	// Second run: fresh, empty in-process Kafka and S3.
	out.Reset()
	cfg.kafka, cfg.s3Endpoint = nil, ""
	rep, err = run(ctx, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.UpToDate || !strings.Contains(out.String(), "Everything is up to date: 4 changes applied") {
		t.Fatalf("second run not up to date:\n%s", out.String())
	}
	store, err := sqlite.Open(ctx, strings.TrimPrefix(cfg.audit, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h, err := store.History(ctx, audit.HistoryQuery{State: audit.Applied})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 {
		t.Fatalf("%d APPLIED entries, want 4", len(h))
	}
}

func checkKafka(t *testing.T, seeds []string) {
	t.Helper()
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(rollout.EventsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	configs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, rollout.EventsTopic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On(rollout.EventsTopic, nil)
	if err != nil {
		t.Fatal(err)
	}
	retention := ""
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" {
			retention = c.MaybeValue()
		}
	}
	if retention != rollout.EventsRetention {
		t.Errorf("retention.ms of %s = %q, want %s", rollout.EventsTopic, retention, rollout.EventsRetention)
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < len(rollout.SeedUsers) {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("read-committed consumer saw %d of %d seed events", len(seen), len(rollout.SeedUsers))
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Key)] = true })
	}
	for _, email := range rollout.SeedUsers {
		if !seen[email] {
			t.Errorf("no event for %s", email)
		}
	}
}

func checkReport(t *testing.T, client *s3.Client, bucket string) {
	t.Helper()
	obj, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(rollout.ReportKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	var report struct {
		Users []struct{ Email, Status string }
	}
	if err := json.NewDecoder(obj.Body).Decode(&report); err != nil {
		t.Fatal(err)
	}
	if len(report.Users) != len(rollout.SeedUsers) {
		t.Fatalf("report lists %d users, want %d", len(report.Users), len(rollout.SeedUsers))
	}
	for _, u := range report.Users {
		if u.Status != "active" {
			t.Errorf("report: %s has status %q", u.Email, u.Status)
		}
	}
}

func checkUsers(t *testing.T, path string) {
	t.Helper()
	db, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM users WHERE status = 'active'`).Scan(&n); err != nil {
		t.Fatalf("status column: %v", err)
	}
	if n != len(rollout.SeedUsers) {
		t.Fatalf("%d active users, want %d", n, len(rollout.SeedUsers))
	}
}

// The same program with its audit trail in PostgreSQL (an isolated schema
// on the local server).
func TestPostgresAuditStore(t *testing.T) {
	schema := pgtest.New(t)
	sep := "?"
	if strings.Contains(schema.URL, "?") {
		sep = "&"
	}
	dir := t.TempDir()
	cfg := config{
		audit: schema.URL + sep + "search_path=" + schema.Name, userDB: filepath.Join(dir, "users.db"),
		bucket: "reports", region: "us-east-1",
	}
	var out bytes.Buffer
	for i, wantUpToDate := range []bool{false, true} {
		out.Reset()
		rep, err := run(context.Background(), cfg, &out)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		if rep.UpToDate != wantUpToDate {
			t.Fatalf("run %d: up to date %v, want %v\n%s", i+1, rep.UpToDate, wantUpToDate, out.String())
		}
	}
	if !strings.Contains(out.String(), "The audit store (postgres") {
		t.Fatalf("output does not name the audit store:\n%s", out.String())
	}
}

func TestAuditFlagIsChecked(t *testing.T) {
	for _, bad := range []string{"", "sqlite:", "mysql://x", "multisystem.db"} {
		if _, err := run(context.Background(), config{audit: bad}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-audit") {
			t.Errorf("-audit %q: got %v", bad, err)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

func TestQuickstartAppliesOnceThenIsUpToDate(t *testing.T) {
	dir := t.TempDir()
	dbPath, outboxDir := filepath.Join(dir, "app.db"), filepath.Join(dir, "outbox")
	// The runner logs to slog.Default: a line per change on the first run,
	// one "up to date" line on the second.
	var logs, stdout [2]bytes.Buffer
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	for i := range 2 {
		slog.SetDefault(slog.New(slog.NewTextHandler(&logs[i], nil)))
		if err := run(context.Background(), &stdout[i], dbPath, outboxDir, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(stdout[0].String(), "Applied 5 of 5 change(s)") || !strings.HasPrefix(stdout[1].String(), "Everything is up to date: 5 changes applied") {
		t.Errorf("summaries: first run %q, second run %q", &stdout[0], &stdout[1])
	}
	if n := strings.Count(logs[0].String(), `msg="flamingock: change finished"`); n != 5 || !strings.Contains(logs[0].String(), "applied=5") {
		t.Errorf("first run: want 5 change-finished lines and a summary with applied=5:\n%s", &logs[0])
	}
	if !strings.Contains(logs[1].String(), `msg="flamingock: up to date"`) || !strings.Contains(logs[1].String(), "changes=5") || strings.Contains(logs[1].String(), "change started") {
		t.Errorf("second run: want one up-to-date line with changes=5 and no change started:\n%s", &logs[1])
	}
	store, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h, err := store.History(context.Background(), audit.HistoryQuery{State: audit.Applied})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 {
		t.Fatalf("%d APPLIED entries, want 5 (one per change, none from the second run)", len(h))
	}
	var status string
	if err := store.DB().QueryRow(`SELECT status FROM accounts WHERE email = 'admin@example.com'`).Scan(&status); err != nil || status != "active" {
		t.Fatalf("admin status %q: %v", status, err)
	}
	// The SQL-file change's trigger logs a status change.
	if _, err := store.DB().Exec(`UPDATE accounts SET status = 'locked' WHERE email = 'admin@example.com'`); err != nil {
		t.Fatal(err)
	}
	var oldStatus, newStatus string
	if err := store.DB().QueryRow(`SELECT old_status, new_status FROM account_events`).Scan(&oldStatus, &newStatus); err != nil || oldStatus != "active" || newStatus != "locked" {
		t.Fatalf("account event %q -> %q: %v", oldStatus, newStatus, err)
	}
	body, err := os.ReadFile(filepath.Join(outboxDir, "welcome-admin.json"))
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]string
	if err := json.Unmarshal(body, &msg); err != nil || msg["email"] != "admin@example.com" {
		t.Fatalf("welcome message %s: %v", body, err)
	}
}

// TestQuickstartFailedRunPrintsNoSummary points the outbox at a regular
// file, so the welcome stage fails: run must return that error and print no
// "Applied ..." line that would read as success.
func TestQuickstartFailedRunPrintsNoSummary(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "outbox")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var stdout bytes.Buffer
	err := run(context.Background(), &stdout, filepath.Join(dir, "app.db"), blocker, nil)
	if err == nil {
		t.Fatal("run succeeded with the outbox path a regular file, want an error")
	}
	if stdout.Len() != 0 {
		t.Errorf("a failed run wrote a summary: %q (error %v)", &stdout, err)
	}
}

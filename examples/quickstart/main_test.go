package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	var logs [2]bytes.Buffer
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	for i := range 2 {
		slog.SetDefault(slog.New(slog.NewTextHandler(&logs[i], nil)))
		if err := run(context.Background(), dbPath, outboxDir, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs[0].String(), `msg="flamingock: change finished"`); n != 4 || !strings.Contains(logs[0].String(), "applied=4") {
		t.Errorf("first run: want 4 change-finished lines and a summary with applied=4:\n%s", &logs[0])
	}
	if !strings.Contains(logs[1].String(), `msg="flamingock: up to date"`) || !strings.Contains(logs[1].String(), "changes=4") || strings.Contains(logs[1].String(), "change started") {
		t.Errorf("second run: want one up-to-date line with changes=4 and no change started:\n%s", &logs[1])
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
	if len(h) != 4 {
		t.Fatalf("%d APPLIED entries, want 4 (one per change, none from the second run)", len(h))
	}
	var status string
	if err := store.DB().QueryRow(`SELECT status FROM accounts WHERE email = 'admin@example.com'`).Scan(&status); err != nil || status != "active" {
		t.Fatalf("admin status %q: %v", status, err)
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

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

func TestQuickstartAppliesOnceThenIsUpToDate(t *testing.T) {
	dir := t.TempDir()
	dbPath, outboxDir := filepath.Join(dir, "app.db"), filepath.Join(dir, "outbox")
	for range 2 {
		if err := run(context.Background(), dbPath, outboxDir, nil); err != nil {
			t.Fatal(err)
		}
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

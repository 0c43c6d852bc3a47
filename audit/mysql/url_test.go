package mysql

import (
	"context"
	"errors"
	"strings"
	"testing"

	driver "github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

func TestDriverConfig(t *testing.T) {
	cfg, err := driverConfig("mysql://app:p%40ss%3Aw%2Fd@db.example:3307/orders?tls=skip-verify&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "app" || cfg.Passwd != "p@ss:w/d" || cfg.Addr != "db.example:3307" || cfg.DBName != "orders" || cfg.TLSConfig != "skip-verify" || cfg.Timeout.String() != "5s" {
		t.Errorf("config %+v", cfg)
	}
	if cfg, err := driverConfig("mariadb://root@127.0.0.1/test"); err != nil || cfg.Addr != "127.0.0.1:3306" || cfg.Passwd != "" {
		t.Errorf("default port: %+v, %v", cfg, err)
	}
	for raw, want := range map[string]string{
		"postgres://x@h/db":          "scheme",
		"mysql://x@h":                "database",
		"mysql://x@h/a/b":            "database",
		"mysql:///db":                "no host",
		"mysql://x@h/db?timeout=abc": "parameters",
	} {
		if _, err := driverConfig(raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error about %s", raw, err, want)
		}
	}
}

func TestOpenForToolCreatesNothing(t *testing.T) {
	d := mytest.New(t)
	cfg, err := driver.ParseDSN(d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := openForTool(ctx, cfg); err == nil || !strings.Contains(err.Error(), "WithoutAutoCreate") {
		t.Fatalf("open on an empty database: %v, want the missing tables named", err)
	}
	if _, err := New(ctx, d.DB(t)); err != nil {
		t.Fatal(err)
	}
	s, err := openForTool(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("LockInfo through the tool's store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

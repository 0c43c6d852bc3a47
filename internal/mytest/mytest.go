package mytest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// EnvURL names the environment variable that holds the test server's DSN.
const EnvURL = "FLAMINGOCK_MYSQL_URL"

// DefaultDSN is the server tests use when [EnvURL] is not set: the
// machine's local MariaDB, user root without a password.
const DefaultDSN = "root@tcp(127.0.0.1:3306)/test"

// DSN returns the test server's DSN.
func DSN() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultDSN
}

// Database is a database created for one test.
type Database struct {
	// Name is the database's name, a plain lower-case identifier that needs
	// no quoting.
	Name string
	// DSN connects to the database.
	DSN string
}

// New creates an empty database for t and registers its removal at
// cleanup. It skips t when the server is unreachable, or fails it when
// CI=true.
func New(t testing.TB) Database {
	t.Helper()
	cfg, err := mysql.ParseDSN(DSN())
	if err != nil {
		t.Fatalf("mytest: parse %s=%q: %v", EnvURL, DSN(), err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("mytest: open: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unreachable(t, cfg, err)
	}
	d := Database{Name: databaseName(t)}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+d.Name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("mytest: create database %s: %v", d.Name, err)
	}
	cfg.DBName = d.Name
	d.DSN = cfg.FormatDSN()
	t.Cleanup(func() { d.drop(t) })
	return d
}

// DB opens a connection pool on the database, closed at cleanup (before
// the database is dropped). configure, when given, adjusts the driver
// configuration first (parseTime, a time zone, ...).
func (d Database) DB(t testing.TB, configure ...func(*mysql.Config)) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(d.DSN)
	if err != nil {
		t.Fatalf("mytest: parse DSN: %v", err)
	}
	for _, c := range configure {
		c(cfg)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("mytest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// NewDB is New followed by DB: the common case of one database and one
// pool.
func NewDB(t testing.TB, configure ...func(*mysql.Config)) (*sql.DB, Database) {
	t.Helper()
	d := New(t)
	return d.DB(t, configure...), d
}

func (d Database) drop(t testing.TB) {
	cfg, err := mysql.ParseDSN(d.DSN)
	if err != nil {
		t.Errorf("mytest: drop database %s: %v", d.Name, err)
		return
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Errorf("mytest: drop database %s: %v", d.Name, err)
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+d.Name); err != nil {
		t.Errorf("mytest: drop database %s: %v", d.Name, err)
	}
}

func unreachable(t testing.TB, cfg *mysql.Config, err error) {
	t.Helper()
	msg := "mytest: MySQL/MariaDB is not reachable at %s (user %s): %v\n" +
		"Start a local server (for example `service mariadb start`, or " +
		"`start-stop-daemon --start --background --exec /usr/sbin/mariadbd`) " +
		"where user root may connect from 127.0.0.1 without a password, " +
		"or point " + EnvURL + " at another server (a go-sql-driver/mysql DSN)."
	// The message names the address and user, never the password.
	if os.Getenv("CI") == "true" {
		t.Fatalf(msg, cfg.Addr, cfg.User, err)
	}
	t.Skipf(msg, cfg.Addr, cfg.User, err)
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName derives a readable, unique database name from the test's
// name, within MySQL's 64-character limit.
func databaseName(t testing.TB) string {
	base := notIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("mytest: random database name: %v", err)
	}
	return "t_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(b[:])
}

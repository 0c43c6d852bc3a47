package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	neturl "net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the environment variable that holds the test server's URL.
const EnvURL = "FLAMINGOCK_POSTGRES_URL"

// DefaultURL is the server tests use when [EnvURL] is not set: the
// machine's local PostgreSQL with trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL returns the test server's URL.
func URL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// Schema is a schema created for one test.
type Schema struct {
	// Name is the schema's name, a plain lower-case identifier that needs
	// no quoting.
	Name string
	// URL is the server the schema lives on.
	URL string
}

// New creates an empty schema for t and registers its removal (DROP ...
// CASCADE) at cleanup. It skips t when the server is unreachable, or fails
// it when CI=true.
func New(t testing.TB) Schema {
	t.Helper()
	url := URL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		unreachable(t, url, err)
	}
	defer conn.Close(context.Background())

	s := Schema{Name: schemaName(t), URL: url}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+s.Name); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", s.Name, err)
	}
	t.Cleanup(func() { s.drop(t) })
	return s
}

// Pool returns a pool on the server whose connections use the schema as
// their search_path, so unqualified names resolve inside it. configure, when
// given, adjusts the pool's configuration (a query tracer, an exec mode)
// before it connects. The pool is closed at cleanup, before the schema is
// dropped.
func (s Schema) Pool(t testing.TB, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(s.URL)
	if err != nil {
		t.Fatalf("pgtest: parse %s=%q: %v", EnvURL, s.URL, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = s.Name
	for _, c := range configure {
		c(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		unreachable(t, s.URL, err)
	}
	return pool
}

// NewPool is New followed by Pool: the common case of one schema and one
// pool.
func NewPool(t testing.TB, configure ...func(*pgxpool.Config)) (*pgxpool.Pool, Schema) {
	t.Helper()
	s := New(t)
	return s.Pool(t, configure...), s
}

func (s Schema) drop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Errorf("pgtest: drop schema %s: %v", s.Name, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP SCHEMA "+s.Name+" CASCADE"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", s.Name, err)
	}
}

func unreachable(t testing.TB, url string, err error) {
	t.Helper()
	msg := "pgtest: PostgreSQL is not reachable at %s: %v\n" +
		"Start a local server (for example `pg_ctlcluster 15 main start` or `service postgresql start`) " +
		"with a database named test and trust authentication for user postgres, " +
		"or point " + EnvURL + " at another server."
	shown := url
	if u, perr := neturl.Parse(url); perr == nil {
		shown = u.Redacted() // never print a password into test logs
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf(msg, shown, err)
	}
	t.Skipf(msg, shown, err)
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// schemaName derives a readable, unique schema name from the test's name.
func schemaName(t testing.TB) string {
	base := notIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("pgtest: random schema name: %v", err)
	}
	return "t_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(b[:])
}

// WaitBlocked polls pg_stat_activity until a backend of the pool's database
// running a query that starts with prefix waits on a lock: how a test knows
// that a concurrent statement has reached the lock it must wait for.
func WaitBlocked(t testing.TB, pool *pgxpool.Pool, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND starts_with(query, $1))`, prefix).Scan(&waiting)
		if err != nil {
			t.Fatalf("waiting for a backend running %q to block on a lock: %v", prefix, err)
		}
		if waiting {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling: PostgreSQL has no notification for this
	}
}

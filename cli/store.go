package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/audit/sqlite"
)

// Store URL query parameters that configure the audit store itself; they
// must match what the application passes to the store's options. For
// PostgreSQL they are removed before the URL reaches pgx, which would
// otherwise send them to the server as session settings.
const (
	paramHistoryTable = "flamingock_history_table"
	paramLatestTable  = "flamingock_latest_table"
	paramLockTable    = "flamingock_lock_table"
	paramLockKey      = "flamingock_lock_key"
	paramDigestTable  = "flamingock_digest_table" // PostgreSQL only: SQLite derives it from the latest table's name
	paramSchema       = "flamingock_schema"       // PostgreSQL only
)

const storeURLHelp = "want sqlite:///abs/path/app.db, sqlite:relative/app.db, postgres://user@host:5432/db or couchbase://host/bucket"

// OpenStore opens the audit store an URL names, without creating anything:
// an operations tool pointed at the wrong place must say so rather than
// start an empty audit trail there.
//
//   - sqlite:///abs/path/app.db (absolute) or sqlite:rel/app.db (relative to
//     the working directory); the file must exist.
//   - postgres://user:pass@host:5432/db?sslmode=disable (or postgresql://),
//     any connection string pgx accepts.
//   - couchbase://user:pass@host[:port][,host2]/bucket (or couchbases://
//     for TLS): a Couchbase connection string with the bucket as its path;
//     without userinfo the credentials come from FLAMINGOCK_COUCHBASE_USER
//     and FLAMINGOCK_COUCHBASE_PASSWORD. Other query parameters go to gocb.
//
// SQLite and PostgreSQL accept flamingock_history_table,
// flamingock_latest_table, flamingock_lock_table and flamingock_lock_key
// query parameters for stores whose tables were renamed or whose lock row
// has another key; PostgreSQL also flamingock_digest_table and
// flamingock_schema. Couchbase accepts flamingock_key_prefix,
// and flamingock_scope with flamingock_collection. Close the store when
// done; for PostgreSQL and Couchbase that also closes the connection.
func OpenStore(ctx context.Context, rawURL string) (audit.Store, error) {
	// Couchbase connection strings list hosts that net/url cannot parse
	// (h1:11210,h2), so they take their own parser.
	if scheme, _, ok := strings.Cut(rawURL, "://"); ok && isCouchbaseScheme(scheme) {
		return openCouchbase(ctx, rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, usagef("audit store URL %q: %s", redact(rawURL), storeURLHelp)
	}
	switch strings.ToLower(u.Scheme) {
	case "sqlite", "sqlite3", "file":
		return openSQLite(ctx, u)
	case "postgres", "postgresql":
		return openPostgres(ctx, u)
	case "couchbase", "couchbases":
		return nil, usagef("audit store URL %s: want %s://host[:port][,host2]/BUCKET", redact(rawURL), strings.ToLower(u.Scheme))
	default:
		return nil, usagef("audit store URL %s: unknown scheme %q: %s", redact(rawURL), u.Scheme, storeURLHelp)
	}
}

func openSQLite(ctx context.Context, u *url.URL) (audit.Store, error) {
	var path string
	switch {
	case u.Host != "":
		return nil, usagef("audit store URL %s names a host (%q): write sqlite:///abs/path.db for an absolute path (three slashes) or sqlite:%s%s for a relative one", u, u.Host, u.Host, u.Path)
	case u.Opaque != "":
		p, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return nil, usagef("audit store URL %s: %v", u, err)
		}
		path = p
	default:
		path = u.Path
	}
	if path == "" {
		return nil, usagef("audit store URL %s has no file path: %s", u, storeURLHelp)
	}
	var opts []sqlite.Option
	err := storeParams(u.Query(), map[string]func(string){
		paramHistoryTable: func(v string) { opts = append(opts, sqlite.WithHistoryTable(v)) },
		paramLatestTable:  func(v string) { opts = append(opts, sqlite.WithLatestTable(v)) },
		paramLockTable:    func(v string) { opts = append(opts, sqlite.WithLockTable(v)) },
		paramLockKey:      func(v string) { opts = append(opts, sqlite.WithLockKey(v)) },
	}, true)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no audit database at %s: check --store or %s (the application creates the file on its first run)", path, EnvStore)
	}
	s, err := sqlite.Open(ctx, path, append(opts, sqlite.WithoutAutoCreate())...)
	if err != nil {
		return nil, fmt.Errorf("opening the audit store %s: %w (is this the application's audit database, and are the table names the same? see flamingock_*_table parameters)", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, u *url.URL) (audit.Store, error) {
	q := u.Query()
	var opts []postgres.Option
	err := storeParams(q, map[string]func(string){
		paramHistoryTable: func(v string) { opts = append(opts, postgres.WithHistoryTable(v)) },
		paramLatestTable:  func(v string) { opts = append(opts, postgres.WithLatestTable(v)) },
		paramLockTable:    func(v string) { opts = append(opts, postgres.WithLockTable(v)) },
		paramDigestTable:  func(v string) { opts = append(opts, postgres.WithDigestTable(v)) },
		paramLockKey:      func(v string) { opts = append(opts, postgres.WithLockKey(v)) },
		paramSchema:       func(v string) { opts = append(opts, postgres.WithSchema(v)) },
	}, false)
	if err != nil {
		return nil, err
	}
	for k := range q {
		if strings.HasPrefix(k, "flamingock_") {
			q.Del(k)
		}
	}
	conn := *u
	conn.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(conn.String())
	if err != nil {
		return nil, usagef("audit store URL %s: %v", u.Redacted(), err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL at %s: %w", u.Redacted(), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w (check the host, port, credentials and sslmode in --store or %s)", u.Redacted(), err, EnvStore)
	}
	s, err := postgres.New(ctx, pool, append(opts, postgres.WithoutAutoCreate())...)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening the audit store at %s: %w\n%s", u.Redacted(), err, pgTablesHint)
	}
	// New created nothing: make sure the tables are there now, not halfway
	// through a command.
	if _, err := s.LockInfo(ctx); err != nil && !errors.Is(err, audit.ErrNoLock) {
		pool.Close()
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P01" { // undefined_table
			return nil, fmt.Errorf("no audit tables at %s: %s\n%s", u.Redacted(), pgErr.Message, pgTablesHint)
		}
		return nil, fmt.Errorf("reading the audit store at %s: %w", u.Redacted(), err)
	}
	return &poolStore{Store: s, pool: pool}, nil
}

const pgTablesHint = "The CLI never creates tables: is this the application's database? If the application keeps its audit tables in another schema or under other names, add flamingock_schema or flamingock_history_table, flamingock_latest_table, flamingock_lock_table, flamingock_digest_table to the URL."

// poolStore closes the pool the CLI opened along with the store.
type poolStore struct {
	*postgres.Store
	pool *pgxpool.Pool
}

func (s *poolStore) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}

// storeParams applies the flamingock_* query parameters through set and
// rejects unknown ones of that prefix (and, when strict, any other: SQLite
// URLs take no driver parameters).
func storeParams(q url.Values, set map[string]func(string), strict bool) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, ok := set[k]
		if !ok {
			if !strict && !strings.HasPrefix(k, "flamingock_") {
				continue
			}
			known := make([]string, 0, len(set))
			for n := range set {
				known = append(known, n)
			}
			slices.Sort(known)
			return usagef("audit store URL: unknown parameter %q (known: %s)", k, strings.Join(known, ", "))
		}
		f(q.Get(k))
	}
	return nil
}

func isCouchbaseScheme(scheme string) bool {
	s := strings.ToLower(scheme)
	return s == "couchbase" || s == "couchbases"
}

// redact hides a password in a URL that may not parse.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.Index(raw, "@"); i >= 0 {
		return "…" + raw[i:]
	}
	return raw
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/storeurl"
)

// Store URL parameters for stores whose tables live in another schema or
// under other names, or whose lock row has another key; the application
// passes the same values to the options of the same names. They are taken
// out before the URL reaches pgx, which would send them to the server as
// session settings.
const (
	ParamSchema       = "flamingock_schema"
	ParamHistoryTable = "flamingock_history_table"
	ParamLatestTable  = "flamingock_latest_table"
	ParamLockTable    = "flamingock_lock_table"
	ParamDigestTable  = "flamingock_digest_table"
	ParamLockKey      = "flamingock_lock_key"
)

func init() { storeurl.Register(openURL, "postgres", "postgresql") }

const tablesHint = "The CLI never creates tables: is this the application's database? If the application keeps its audit tables in another schema or under other names, add flamingock_schema or flamingock_history_table, flamingock_latest_table, flamingock_lock_table, flamingock_digest_table to the URL."

// openURL opens postgres://user:pass@host:5432/db?sslmode=disable (any URL
// pgx accepts, its parameters passed on as written) for an operations
// tool: it connects a small pool of its own and checks that the tables are
// there; nothing is created.
func openURL(ctx context.Context, u *storeurl.URL) (audit.Store, error) {
	opts := []Option{WithoutAutoCreate()}
	option := func(o func(string) Option) func(string) error {
		return func(v string) error { opts = append(opts, o(v)); return nil }
	}
	rest, err := u.Take(map[string]func(string) error{
		ParamSchema:       option(WithSchema),
		ParamHistoryTable: option(WithHistoryTable),
		ParamLatestTable:  option(WithLatestTable),
		ParamLockTable:    option(WithLockTable),
		ParamDigestTable:  option(WithDigestTable),
		ParamLockKey:      option(WithLockKey),
	}, false)
	if err != nil {
		return nil, err
	}
	// A bad table name is the URL's fault, not the database's.
	if _, err := newConfig(opts); err != nil {
		return nil, u.Invalidf("%v", err)
	}
	conn := u.Base
	if rest != "" {
		conn += "?" + rest
	}
	cfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		return nil, u.Invalidf("%v", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL at %s: %w", u, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w (check the host, port, credentials and sslmode)", u, err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening the audit store at %s: %w\n%s", u, err, tablesHint)
	}
	// New created nothing: make sure the tables are there now, not halfway
	// through a command.
	if _, err := s.LockInfo(ctx); err != nil && !errors.Is(err, audit.ErrNoLock) {
		pool.Close()
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P01" { // undefined_table
			return nil, fmt.Errorf("no audit tables at %s: %s\n%s", u, pgErr.Message, tablesHint)
		}
		return nil, fmt.Errorf("reading the audit store at %s: %w", u, err)
	}
	return &poolStore{Store: s, pool: pool}, nil
}

// poolStore closes the pool openURL connected along with the store.
type poolStore struct {
	*Store
	pool *pgxpool.Pool
}

func (s *poolStore) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}

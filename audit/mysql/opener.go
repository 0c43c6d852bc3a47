package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/storeurl"
)

// Store URL parameters for stores whose tables were renamed or whose lock
// row has another key; the application passes the same values to the
// options of the same names. They are taken out before the rest of the
// query reaches the driver, which would otherwise send them to the server
// as session variables.
const (
	ParamHistoryTable = "flamingock_history_table"
	ParamLatestTable  = "flamingock_latest_table"
	ParamLockTable    = "flamingock_lock_table"
	ParamDigestTable  = "flamingock_digest_table"
	ParamLockKey      = "flamingock_lock_key"
)

func init() { storeurl.Register(openURL, "mysql", "mariadb") }

const tablesHint = "The CLI never creates tables: is this the application's database? If the application renamed its audit tables, add flamingock_history_table, flamingock_latest_table, flamingock_lock_table, flamingock_digest_table to the URL."

// openURL opens mysql://user:pass@host:3306/db?params (or mariadb://) for
// an operations tool: a small pool of its own, a ping that says whether the
// server answers, and a store that creates nothing.
func openURL(ctx context.Context, u *storeurl.URL) (audit.Store, error) {
	// The driver sends every parameter it does not know to the server as
	// SET name=value; SET password=... would change the user's password.
	if u.Has("password") {
		return nil, u.Invalidf("write the password in the user info (mysql://user:password@host:3306/db, percent-encoded), not as a password parameter, which the driver would send to the server as SET password=...")
	}
	opts := []Option{WithoutAutoCreate()}
	option := func(o func(string) Option) func(string) error {
		return func(v string) error { opts = append(opts, o(v)); return nil }
	}
	rest, err := u.Take(map[string]func(string) error{
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
	cfg, err := driverConfig(u.Base, rest)
	if err != nil {
		return nil, u.Invalidf("%v", err)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, u.Invalidf("%v", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(2)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach MySQL at %s: %w (check the host, port, credentials and tls)", u, err)
	}
	s, err := New(ctx, db, opts...)
	if err != nil {
		db.Close()
		if errors.Is(err, errTablesMissing) {
			return nil, fmt.Errorf("no audit tables at %s: %w\n%s", u, err, tablesHint)
		}
		return nil, fmt.Errorf("opening the audit store at %s: %w", u, err)
	}
	return &dbStore{Store: s, db: db}, nil
}

// driverConfig converts the part of a store URL before its query,
// mysql://user:pass@host:3306/db, and the query parameters meant for the
// driver (tls, timeout, charset, ...) to the driver's configuration. The
// parameters reach the driver's DSN parser exactly as written, as they
// would in a DSN; the user name and password are percent-decoded, so any
// character can be written in them. The port defaults to 3306; the
// database is required.
func driverConfig(base, params string) (*mysql.Config, error) {
	u, err := url.Parse(base)
	if err != nil {
		// Unwrapped: url.Error quotes the whole URL, password included.
		return nil, fmt.Errorf("not a URL: %w", errors.Unwrap(err))
	}
	if u.Host == "" {
		return nil, errors.New("no host: write mysql://user:pass@host:3306/database")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, fmt.Errorf("database %q: write exactly one database name after the host (mysql://user:pass@host:3306/database)", db)
	}
	cfg, err := mysql.ParseDSN("/?" + params)
	if err != nil {
		return nil, fmt.Errorf("driver parameters: %w", err)
	}
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, db
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	return cfg, nil
}

// dbStore closes the pool openURL connected along with the store.
type dbStore struct {
	*Store
	db *sql.DB
}

func (s *dbStore) Close() error {
	err := s.Store.Close()
	s.db.Close()
	return err
}

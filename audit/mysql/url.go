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
)

// driverConfig converts a store URL, mysql://user:pass@host:3306/db?params,
// to the driver's configuration. The query parameters are the driver's DSN
// parameters (tls, timeout, charset, ...), passed on as written; the
// user name and password are percent-decoded, so any character can be
// written in them. The port defaults to 3306; the database is required.
func driverConfig(raw string) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", errors.Unwrap(err))
	}
	if !strings.EqualFold(u.Scheme, "mysql") && !strings.EqualFold(u.Scheme, "mariadb") {
		return nil, fmt.Errorf("scheme %q: want mysql:// or mariadb://", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host: write mysql://user:pass@host:3306/database")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, fmt.Errorf("database %q: write exactly one database name after the host (mysql://user:pass@host:3306/database)", db)
	}
	cfg, err := mysql.ParseDSN("/?" + u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
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

// openForTool opens the store for an operations tool: a small pool of its
// own, a ping that says whether the server answers, and New without
// auto-create (a tool pointed at the wrong database must say so, not start
// an empty trail there). Closing the store closes the pool.
func openForTool(ctx context.Context, cfg *mysql.Config, opts ...Option) (audit.Store, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(2)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach MySQL at %s as %s: %w (check the host, port, credentials and tls)", cfg.Addr, cfg.User, err)
	}
	s, err := New(ctx, db, append([]Option{WithoutAutoCreate()}, opts...)...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the audit store in database %s at %s: %w", cfg.DBName, cfg.Addr, err)
	}
	return &dbStore{Store: s, db: db}, nil
}

// dbStore closes the pool openForTool connected along with the store.
type dbStore struct {
	*Store
	db *sql.DB
}

func (s *dbStore) Close() error {
	err := s.Store.Close()
	s.db.Close()
	return err
}

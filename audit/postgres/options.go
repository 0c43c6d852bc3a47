package postgres

import (
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
)

// Default table names.
const (
	DefaultHistoryTable = "flamingock_audit"
	DefaultLatestTable  = "flamingock_audit_latest"
	DefaultLockTable    = "flamingock_lock"
)

// identifier is what a schema or table name must look like. Names are still
// quoted when spliced into SQL; the pattern keeps them to names that mean
// the same thing quoted or not in every tool an operator might use, and
// within PostgreSQL's 63-byte limit so they are never silently truncated.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func checkIdentifier(option, what, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("audit/postgres: %s: invalid %s name %q: must match %s", option, what, name, identifier)
	}
	return nil
}

// Option configures a [Store]. Options check their own arguments; [New]
// returns the first error.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	schema     string
	history    string
	latest     string
	lock       string
	autoCreate bool
}

func defaultConfig() config {
	return config{history: DefaultHistoryTable, latest: DefaultLatestTable, lock: DefaultLockTable, autoCreate: true}
}

func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&c); err != nil {
			return config{}, err
		}
	}
	if c.history == c.latest || c.history == c.lock || c.latest == c.lock {
		return config{}, fmt.Errorf("audit/postgres: table names must differ: history %q, latest %q, lock %q", c.history, c.latest, c.lock)
	}
	return c, nil
}

// WithSchema puts the store's tables in the named schema, created if missing
// (unless [WithoutAutoCreate]). Without it, table names are unqualified and
// resolve through the connection's search_path (normally to public).
func WithSchema(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithSchema", "schema", name); err != nil {
			return err
		}
		c.schema = name
		return nil
	})
}

// WithHistoryTable names the append-only history table (default
// [DefaultHistoryTable]).
func WithHistoryTable(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithHistoryTable", "table", name); err != nil {
			return err
		}
		c.history = name
		return nil
	})
}

// WithLatestTable names the latest-state table (default
// [DefaultLatestTable]).
func WithLatestTable(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithLatestTable", "table", name); err != nil {
			return err
		}
		c.latest = name
		return nil
	})
}

// WithLockTable names the lock table (default [DefaultLockTable]).
func WithLockTable(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithLockTable", "table", name); err != nil {
			return err
		}
		c.lock = name
		return nil
	})
}

// WithoutAutoCreate stops [New] from creating the schema and tables. Use it
// when the database role may not run DDL; create the tables beforehand with
// the script [DDL] returns.
func WithoutAutoCreate() Option {
	return optionFunc(func(c *config) error {
		c.autoCreate = false
		return nil
	})
}

// qualify returns the quoted, schema-qualified name of a table.
func (c config) qualify(table string) string {
	if c.schema == "" {
		return pgx.Identifier{table}.Sanitize()
	}
	return pgx.Identifier{c.schema, table}.Sanitize()
}

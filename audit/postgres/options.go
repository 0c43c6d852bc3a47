package postgres

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"

	"github.com/jackc/pgx/v5"
)

// Default names of the store's tables and of its lock row.
const (
	DefaultHistoryTable = "flamingock_audit"
	DefaultLatestTable  = "flamingock_audit_latest"
	DefaultLockTable    = "flamingock_lock"
	DefaultLockKey      = "flamingock"
)

// identifier is what a schema or table name must look like. Names are still
// quoted when spliced into SQL; the pattern keeps them to names that mean
// the same thing quoted or not in every tool an operator might use, and
// within PostgreSQL's 63-byte limit so they are never silently truncated.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func checkIdentifier(option, what, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("postgres audit store: %s(%q): a %s name must be 1 to 63 letters, digits or underscores, not starting with a digit", option, name, what)
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
	digest     string // empty: derived from history, see digestTable
	lockKey    string
	autoCreate bool
	logger     *slog.Logger // nil: slog.Default() at the time of logging
}

// log is where the store reports what it repaired.
func (c config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

func defaultConfig() config {
	return config{history: DefaultHistoryTable, latest: DefaultLatestTable, lock: DefaultLockTable, lockKey: DefaultLockKey, autoCreate: true}
}

func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("postgres audit store: nil Option")
		}
		if err := o.apply(&c); err != nil {
			return config{}, err
		}
	}
	// Quoted names are case-sensitive in PostgreSQL, so exact comparison.
	names := []struct{ option, name string }{
		{"WithHistoryTable", c.history},
		{"WithLatestTable", c.latest},
		{"WithLockTable", c.lock},
		{"WithDigestTable", c.digestTable()},
		// Stores created by earlier versions have this index; keep the
		// name free.
		{"WithHistoryTable (its index)", c.changeIndex()},
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if names[i].name == names[j].name {
				return config{}, fmt.Errorf("postgres audit store: %s and %s both name the relation %q; each needs its own name",
					names[i].option, names[j].option, names[j].name)
			}
		}
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

// WithDigestTable names the table that keeps the applied digest (see
// [Store.AppliedDigest]), one row per lock key. The default is the history
// table's name followed by "_digest" (flamingock_audit_digest), shortened
// with a hash when that would pass 63 bytes.
func WithDigestTable(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithDigestTable", "table", name); err != nil {
			return err
		}
		c.digest = name
		return nil
	})
}

// WithLockKey sets the key of this store's row in the lock table (default
// [DefaultLockKey]). Two stores on one database with different keys lock
// independently; they should then use different history tables too, since
// fencing is judged against the lock row of the store's own key.
func WithLockKey(key string) Option {
	return optionFunc(func(c *config) error {
		if key == "" || len(key) > 255 {
			return fmt.Errorf("postgres audit store: WithLockKey(%q): the key must be 1 to 255 bytes long", key)
		}
		c.lockKey = key
		return nil
	})
}

// WithoutAutoCreate stops [New] from creating the schema and tables; New
// then checks that the tables exist and fails if one is missing. Use it when
// the database role may not run DDL, and create the tables beforehand with
// the script [Schema] returns.
func WithoutAutoCreate() Option {
	return optionFunc(func(c *config) error {
		c.autoCreate = false
		return nil
	})
}

// WithLogger sets where the store reports, at level Warn, the repairs it
// makes to its tables: a latest-state table or digest rebuilt from the
// history, a lock row re-created above the trail's fencing tokens. The
// default is [slog.Default] at the time of logging.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("postgres audit store: WithLogger(nil): pass a logger, or leave the option out for slog.Default")
		}
		c.logger = l
		return nil
	})
}

// changeIndex names the history index by change that earlier versions
// created, derived from the history table's name.
func (c config) changeIndex() string { return derivedName(c.history, "_by_change") }

// digestTable names the applied-digest table: the one given with
// [WithDigestTable], or one derived from the history table's name.
func (c config) digestTable() string {
	if c.digest != "" {
		return c.digest
	}
	return derivedName(c.history, "_digest")
}

// guardFunction names the trigger function that marks the derived tables
// stale when the history or the latest-state table is edited by hand.
func (c config) guardFunction() string { return derivedName(c.history, "_edited") }

// unrecordedFunction names the trigger function that marks the derived
// tables stale when a latest-state row is written that is no entry of the
// history.
func (c config) unrecordedFunction() string { return derivedName(c.history, "_unrecorded") }

// derivedName appends suffix to a table name. A name that would pass
// PostgreSQL's 63-byte limit (which the server would cut silently) is
// shortened and made unique with a hash of the table name.
func derivedName(table, suffix string) string {
	n := table + suffix
	if len(n) <= 63 {
		return n
	}
	h := fnv.New32a()
	h.Write([]byte(table))
	return fmt.Sprintf("%s_%08x%s", table[:62-9-len(suffix)], h.Sum32(), suffix)
}

// qualify returns the quoted, schema-qualified name of a table.
func (c config) qualify(table string) string {
	if c.schema == "" {
		return pgx.Identifier{table}.Sanitize()
	}
	return pgx.Identifier{c.schema, table}.Sanitize()
}

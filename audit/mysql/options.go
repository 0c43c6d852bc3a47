package mysql

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
)

// Default names of the store's tables and of its lock row.
const (
	DefaultHistoryTable = "flamingock_audit"
	DefaultLatestTable  = "flamingock_audit_latest"
	DefaultLockTable    = "flamingock_lock"
	DefaultLockKey      = "flamingock"
)

// maxIdentifier is MySQL's and MariaDB's limit on a table name, in
// characters; longer names are an error there, not truncated.
const maxIdentifier = 64

// identifier is what a table name must look like. Names are still quoted
// with backticks when spliced into SQL; the pattern keeps them to names
// that mean the same quoted or not, in every tool an operator might use.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func checkIdentifier(option, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("mysql audit store: %s(%q): a table name must be 1 to %d letters, digits or underscores, not starting with a digit", option, name, maxIdentifier)
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
	history    string
	latest     string
	lock       string
	digest     string // empty: derived from history, see digestTable
	lockKey    string
	autoCreate bool
}

func defaultConfig() config {
	return config{history: DefaultHistoryTable, latest: DefaultLatestTable, lock: DefaultLockTable, lockKey: DefaultLockKey, autoCreate: true}
}

func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("mysql audit store: nil Option")
		}
		if err := o.apply(&c); err != nil {
			return config{}, err
		}
	}
	// Whether table names are case-sensitive depends on the server's
	// lower_case_table_names, so two names that differ only in case are
	// refused everywhere.
	names := []struct{ option, name string }{
		{"WithHistoryTable", c.history},
		{"WithLatestTable", c.latest},
		{"WithLockTable", c.lock},
		{"WithDigestTable", c.digestTable()},
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if strings.EqualFold(names[i].name, names[j].name) {
				return config{}, fmt.Errorf("mysql audit store: %s and %s both name the table %q; each needs its own name",
					names[i].option, names[j].option, names[j].name)
			}
		}
	}
	return c, nil
}

// WithHistoryTable names the append-only history table (default
// [DefaultHistoryTable]).
func WithHistoryTable(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithHistoryTable", name); err != nil {
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
		if err := checkIdentifier("WithLatestTable", name); err != nil {
			return err
		}
		c.latest = name
		return nil
	})
}

// WithLockTable names the lock table (default [DefaultLockTable]).
func WithLockTable(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithLockTable", name); err != nil {
			return err
		}
		c.lock = name
		return nil
	})
}

// WithDigestTable names the table that keeps the applied digest (see
// [Store.AppliedDigest]), one row per lock key. The default is the history
// table's name followed by "_digest" (flamingock_audit_digest), shortened
// with a hash when that would pass 64 characters.
func WithDigestTable(name string) Option {
	return optionFunc(func(c *config) error {
		if err := checkIdentifier("WithDigestTable", name); err != nil {
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
			return fmt.Errorf("mysql audit store: WithLockKey(%q): the key must be 1 to 255 bytes long", key)
		}
		c.lockKey = key
		return nil
	})
}

// WithoutAutoCreate stops [New] from creating the tables; New then checks
// that they exist and fails if one is missing. Use it when the database
// user may not run DDL, and create the tables beforehand with the script
// [Schema] returns.
func WithoutAutoCreate() Option {
	return optionFunc(func(c *config) error {
		c.autoCreate = false
		return nil
	})
}

// digestTable names the applied-digest table: the one given with
// [WithDigestTable], or one derived from the history table's name.
func (c config) digestTable() string {
	if c.digest != "" {
		return c.digest
	}
	return derivedName(c.history, "_digest")
}

// guardTriggers names the triggers that mark the digest unknown when the
// history or the latest states are edited by hand, derived from the names
// of the tables they watch (trigger names share the database's namespace).
func (c config) guardTriggers() (historyUpdate, historyDelete, latestUpdate, latestDelete string) {
	return derivedName(c.history, "_fg_upd"), derivedName(c.history, "_fg_del"),
		derivedName(c.latest, "_fg_upd"), derivedName(c.latest, "_fg_del")
}

// derivedName appends suffix to a name; one that would pass 64 characters
// is shortened and made unique with a hash of the original.
func derivedName(name, suffix string) string {
	n := name + suffix
	if len(n) <= maxIdentifier {
		return n
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s_%08x%s", name[:maxIdentifier-1-8-len(suffix)], h.Sum32(), suffix)
}

// quote returns the backtick-quoted name of a table. Names are validated,
// so they contain no backtick.
func quote(table string) string { return "`" + table + "`" }

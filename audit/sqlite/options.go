package sqlite

import (
	"fmt"
	"log/slog"
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

// identifier is what a table name must look like. Names are spliced into SQL
// (quoted), so they are checked against this pattern instead of escaped:
// anything else is refused.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// config is what the options set.
type config struct {
	historyTable string
	latestTable  string
	lockTable    string
	lockKey      string
	autoCreate   bool
	logger       *slog.Logger // nil: slog.Default() at the time of logging
}

// log is where the store reports what it repaired.
func (c config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// guardTriggers names the triggers that mark the derived tables stale when
// the history or the latest-state table is edited by hand, each with its
// table, event and condition. They are derived from the table names so two
// stores on one database do not share them.
func (c config) guardTriggers() []guardTrigger {
	return []guardTrigger{
		{c.historyTable + "_edited_update", c.historyTable, "UPDATE", ""},
		{c.historyTable + "_edited_delete", c.historyTable, "DELETE", ""},
		{c.latestTable + "_edited_update", c.latestTable, "UPDATE", "NEW.seq <= OLD.seq"},
		{c.latestTable + "_edited_delete", c.latestTable, "DELETE", ""},
		// The store's own latest-state writes copy the history entry it
		// inserted just before, in the same transaction: an inserted row,
		// or a row moved to a larger seq, that is no history entry was
		// written by hand. One lookup of the history's primary key.
		{c.latestTable + "_edited_insert", c.latestTable, "INSERT", c.unrecorded()},
		{c.latestTable + "_edited_raise", c.latestTable, "UPDATE", "NEW.seq > OLD.seq AND " + c.unrecorded()},
	}
}

// unrecorded is a trigger condition that holds when the latest-state row
// NEW is not an entry of the history.
func (c config) unrecorded() string {
	return "NOT EXISTS (SELECT 1 FROM " + quote(c.historyTable) + " WHERE seq = NEW.seq AND change_id = NEW.change_id AND state = NEW.state)"
}

type guardTrigger struct{ name, table, event, when string }

// changeIndex names the history index by change; it is derived from the
// history table's name so that two stores on one database do not share it.
func (c config) changeIndex() string { return c.historyTable + "_by_change" }

// digestTable names the one-row table holding the [audit.AppliedDigest] of
// the latest-state table; it is derived from that table's name because it
// summarises exactly that table's rows, whoever writes them.
func (c config) digestTable() string { return c.latestTable + "_digest" }

func defaultConfig() config {
	return config{
		historyTable: DefaultHistoryTable,
		latestTable:  DefaultLatestTable,
		lockTable:    DefaultLockTable,
		lockKey:      DefaultLockKey,
		autoCreate:   true,
	}
}

// Option configures a [Store]. Options check their own values; [Open] and
// [New] return the first error.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// WithHistoryTable names the append-only history table (default
// flamingock_audit).
func WithHistoryTable(name string) Option {
	return optionFunc(func(c *config) error {
		return setTable(&c.historyTable, "WithHistoryTable", name)
	})
}

// WithLatestTable names the table holding the latest entry of every change
// (default flamingock_audit_latest).
func WithLatestTable(name string) Option {
	return optionFunc(func(c *config) error {
		return setTable(&c.latestTable, "WithLatestTable", name)
	})
}

// WithLockTable names the lock table (default flamingock_lock).
func WithLockTable(name string) Option {
	return optionFunc(func(c *config) error {
		return setTable(&c.lockTable, "WithLockTable", name)
	})
}

// WithLockKey sets the key of this store's row in the lock table (default
// "flamingock"). Two stores on one database with different keys lock
// independently; they should then use different history and latest tables
// too, since fencing is judged against the lock row of the store's own key.
func WithLockKey(key string) Option {
	return optionFunc(func(c *config) error {
		if key == "" || len(key) > 255 {
			return fmt.Errorf("sqlite audit store: WithLockKey(%q): the key must be 1 to 255 bytes long", key)
		}
		c.lockKey = key
		return nil
	})
}

// WithoutAutoCreate stops the store from creating its tables. [Open] and
// [New] then check that the tables exist and fail if one is missing; [Schema]
// gives the statements to create them by other means.
func WithoutAutoCreate() Option {
	return optionFunc(func(c *config) error {
		c.autoCreate = false
		return nil
	})
}

// WithLogger sets where the store reports, at level Warn, the repairs it
// makes to its tables: latest states and digest rebuilt from the history, a
// lock row re-created above the trail's fencing tokens. The default is
// [slog.Default] at the time of logging.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("sqlite audit store: WithLogger(nil): pass a logger, or leave the option out for slog.Default")
		}
		c.logger = l
		return nil
	})
}

func setTable(dst *string, option, name string) error {
	switch {
	case !identifier.MatchString(name):
		return fmt.Errorf("sqlite audit store: %s(%q): a table name must be 1 to 63 letters, digits or underscores, not starting with a digit", option, name)
	case strings.HasPrefix(strings.ToLower(name), "sqlite_"):
		return fmt.Errorf("sqlite audit store: %s(%q): names starting with sqlite_ are reserved by SQLite", option, name)
	}
	*dst = name
	return nil
}

// newConfig applies opts to the defaults and checks the result as a whole.
func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("sqlite audit store: nil Option")
		}
		if err := o.apply(&c); err != nil {
			return config{}, err
		}
	}
	// SQLite compares names case-insensitively, so must we.
	tables := []struct{ option, name string }{
		{"WithHistoryTable", c.historyTable},
		{"WithLatestTable", c.latestTable},
		{"WithLockTable", c.lockTable},
		{"WithHistoryTable (its index)", c.changeIndex()},
		{"WithLatestTable (its digest table)", c.digestTable()},
	}
	for i := range tables {
		for j := i + 1; j < len(tables); j++ {
			if strings.EqualFold(tables[i].name, tables[j].name) {
				return config{}, fmt.Errorf("sqlite audit store: %s and %s both name the table %q; each table needs its own name",
					tables[i].option, tables[j].option, tables[j].name)
			}
		}
	}
	return c, nil
}

package couchbase

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// DefaultKeyPrefix is the prefix of the store's document keys.
const DefaultKeyPrefix = "flamingock"

// Option configures a [Store]. [New] returns the first option error.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	scope, collection string
	prefix            string
	stagedWait        time.Duration
	noCreate          bool
	logger            *slog.Logger // nil: slog.Default() at the time of logging
}

// log is where the store reports what it repaired.
func (c config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// WithLogger sets where the store reports, at level Warn, the repairs it
// makes: latest states or a state document rebuilt from the history
// documents. The default is [slog.Default] at the time of logging.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("couchbase audit store: WithLogger(nil): pass a logger, or leave the option out for slog.Default")
		}
		c.logger = l
		return nil
	})
}

func defaultConfig() config {
	return config{scope: "_default", collection: "_default", prefix: DefaultKeyPrefix, stagedWait: 30 * time.Second}
}

// WithCollection keeps the documents in scope.collection of the bucket
// (default _default._default). The collection must exist.
func WithCollection(scope, collection string) Option {
	return optionFunc(func(c *config) error {
		if scope == "" || collection == "" {
			return fmt.Errorf("couchbase audit store: WithCollection(%q, %q): scope and collection must not be empty", scope, collection)
		}
		c.scope, c.collection = scope, collection
		return nil
	})
}

// WithKeyPrefix sets the prefix of the store's keys (default "flamingock").
// Two stores with different prefixes in one collection are independent,
// each with its own lock.
func WithKeyPrefix(prefix string) Option {
	return optionFunc(func(c *config) error {
		if prefix == "" || strings.Contains(prefix, "::") || len(prefix) > 200 {
			return fmt.Errorf("couchbase audit store: WithKeyPrefix(%q): want 1 to 200 bytes without \"::\"", prefix)
		}
		c.prefix = prefix
		return nil
	})
}

// WithStagedWait bounds how long a write waits for a Couchbase transaction
// staged on the state document to commit or roll back (default 30s; it
// should exceed the transactions' timeout).
func WithStagedWait(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("couchbase audit store: WithStagedWait(%v): must be positive", d)
		}
		c.stagedWait = d
		return nil
	})
}

// WithoutAutoCreate stops [New] from creating the state document: New then
// fails with [ErrNoAuditTrail] when it does not exist. Operations tools use
// it so that pointing them at the wrong place never starts an empty trail.
func WithoutAutoCreate() Option {
	return optionFunc(func(c *config) error {
		c.noCreate = true
		return nil
	})
}

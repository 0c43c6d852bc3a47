package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/targets"
)

// Option configures a [Runner]. Options validate their arguments; [New]
// reports every invalid option.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// DriftPolicy says what a run does when an applied change's source no
// longer matches the checksum recorded when it was applied.
type DriftPolicy int

const (
	// DriftWarn logs the drift and reports it in the [Report] (default).
	DriftWarn DriftPolicy = iota
	// DriftFail refuses to run: [Runner.Run] returns a *[DriftError] before
	// applying anything.
	DriftFail
)

type config struct {
	store       audit.Store
	targets     map[string]targets.Target
	deps        *targets.Deps
	logger      *slog.Logger
	listeners   []func(Event)
	service     string
	version     string
	metadata    map[string]string
	lockTTL     time.Duration
	lockWait    time.Duration
	driftPolicy DriftPolicy
}

func defaultConfig() config {
	return config{
		targets:  map[string]targets.Target{},
		deps:     targets.NewDeps(nil),
		logger:   slog.Default(),
		lockTTL:  30 * time.Second,
		lockWait: 2 * time.Minute,
	}
}

// WithAuditStore sets the audit store. It is required.
func WithAuditStore(s audit.Store) Option {
	return optionFunc(func(c *config) error {
		if s == nil {
			return errors.New("WithAuditStore: store is nil")
		}
		c.store = s
		return nil
	})
}

// WithTargets registers target systems by their ids. Ids must be unique and
// not empty.
func WithTargets(targets ...targets.Target) Option {
	return optionFunc(func(c *config) error {
		var errs []error
		for i, t := range targets {
			switch {
			case t == nil:
				errs = append(errs, fmt.Errorf("WithTargets: target %d is nil", i))
			case t.ID() == "":
				errs = append(errs, fmt.Errorf("WithTargets: target %d (%T) has an empty id", i, t))
			case c.targets[t.ID()] != nil:
				errs = append(errs, fmt.Errorf("WithTargets: target id %q is registered twice", t.ID()))
			default:
				c.targets[t.ID()] = t
			}
		}
		return errors.Join(errs...)
	})
}

// WithDependency registers v under its static type T. A change receives it
// for a parameter of exactly that type when the change's target does not
// provide one.
func WithDependency[T any](v T) Option {
	return optionFunc(func(c *config) error {
		if any(v) == nil {
			return fmt.Errorf("WithDependency: nil value for %s", TypeOf[T]())
		}
		targets.Provide(c.deps, v)
		return nil
	})
}

// WithLogger sets the structured logger (default: [slog.Default] as it is
// when [New] is called). At Info the runner logs one line when a run finds
// nothing to do, the lock it waits for and takes, each change it starts and
// finishes, and the run's summary; to silence it, pass
// slog.New(slog.DiscardHandler).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: logger is nil")
		}
		c.logger = l
		return nil
	})
}

// WithListener registers a function that receives every [Event], in order,
// on the goroutine that runs the changes. It must not block.
func WithListener(f func(Event)) Option {
	return optionFunc(func(c *config) error {
		if f == nil {
			return errors.New("WithListener: listener is nil")
		}
		c.listeners = append(c.listeners, f)
		return nil
	})
}

// WithService names the service and its version; both are recorded in every
// audit entry (the name as the entry's actor, both in its metadata).
func WithService(name, version string) Option {
	return optionFunc(func(c *config) error {
		if name == "" {
			return errors.New("WithService: name is empty")
		}
		c.service, c.version = name, version
		return nil
	})
}

// WithMetadata adds free-form metadata recorded in every audit entry.
func WithMetadata(m map[string]string) Option {
	return optionFunc(func(c *config) error {
		if c.metadata == nil {
			c.metadata = map[string]string{}
		}
		for k, v := range m {
			if k == "" {
				return errors.New("WithMetadata: empty key")
			}
			c.metadata[k] = v
		}
		return nil
	})
}

// WithLockTTL sets the lease of the run lock (default 30s). The runner
// refreshes it every third of the lease and cancels the running change's
// context if it cannot.
func WithLockTTL(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("WithLockTTL: %v is shorter than the minimum of 100ms", d)
		}
		c.lockTTL = d
		return nil
	})
}

// WithLockWait bounds how long [Runner.Run] waits for another instance to
// release the lock (default 2m). Zero means try once.
func WithLockWait(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithLockWait: negative duration %v", d)
		}
		c.lockWait = d
		return nil
	})
}

// WithDriftPolicy sets what a run does on checksum drift (default
// [DriftWarn]).
func WithDriftPolicy(p DriftPolicy) Option {
	return optionFunc(func(c *config) error {
		if p != DriftWarn && p != DriftFail {
			return fmt.Errorf("WithDriftPolicy: unknown policy %d", p)
		}
		c.driftPolicy = p
		return nil
	})
}

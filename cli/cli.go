package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// EnvStore names the environment variable the standalone command reads
// when --store is not given.
const EnvStore = "FLAMINGOCK_STORE"

// Option configures the commands [Command] and [Standalone] build.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	name     string
	loc      *time.Location
	now      func() time.Time
	progress *Progress
}

func newConfig(opts []Option) config {
	c := config{name: "flamingock", loc: time.Local, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithName sets the name of the command (default "flamingock"), which is
// what users type after the application's own name.
func WithName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.name = name
		}
	})
}

// WithLocation sets the zone times are shown in (default time.Local, which
// follows TZ). Tests use it to keep golden output stable.
func WithLocation(loc *time.Location) Option {
	return optionFunc(func(c *config) {
		if loc != nil {
			c.loc = loc
		}
	})
}

// WithClock replaces the clock used to say how long ago something happened
// and to resolve --since durations.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithProgress makes apply print a line per change as it finishes, from the
// runner's events. p must be registered with the runner (see [Progress]);
// without it, apply prints the same lines once the run is over.
func WithProgress(p *Progress) Option {
	return optionFunc(func(c *config) { c.progress = p })
}

// Command returns the operations command to mount in the application's
// binary, working on runner's pipeline and audit store:
//
//	root.AddCommand(cli.Command(runner))
//	os.Exit(cli.Execute(ctx, root, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
//
// Build a new command for every execution: cobra keeps flag values.
func Command(runner *flamingock.Runner, opts ...Option) *cobra.Command {
	e := &env{cfg: newConfig(opts), runner: runner}
	root := e.root("Plan, apply and check this application's changes, and repair its audit trail")
	root.AddCommand(e.planCmd(), e.applyCmd(), e.validateCmd(), e.statusCmd(), e.undoCmd())
	root.AddCommand(e.auditCmd(), e.issueCmd(), e.lockCmd(), e.versionCmd())
	setVersion(root)
	e.addExamples(root)
	e.addCompletions(root)
	return root
}

// Standalone returns the command of the standalone flamingock binary: the
// audit, issue and lock commands against the audit store named by --store
// (or $FLAMINGOCK_STORE). It opens the stores whose packages the program
// imports (each registers its URL schemes with package storeurl):
//
//	import (
//		_ "github.com/flamingock/flamingock-go/audit/postgres"
//		_ "github.com/flamingock/flamingock-go/audit/sqlite"
//	)
//
// cmd/flamingock imports every store of this module.
func Standalone(opts ...Option) *cobra.Command {
	e := &env{cfg: newConfig(opts), standalone: true}
	root := e.root("Inspect and repair a flamingock-go audit trail")
	setVersion(root)
	root.PersistentFlags().StringVar(&e.storeURL, "store", "",
		"audit store URL: sqlite:///abs/path.db, sqlite:rel/path.db, postgres://user@host:5432/db or couchbase://host/bucket (default $"+EnvStore+")")
	root.AddCommand(e.auditCmd(), e.issueCmd(), e.lockCmd(), e.versionCmd())
	for _, name := range []string{"plan", "apply", "validate", "status", "undo"} {
		root.AddCommand(appOnly(name))
	}
	e.addExamples(root)
	e.addCompletions(root)
	return root
}

// appOnly is a hidden stand-in for a command only the mounted command has:
// asked for it, the standalone binary says where it lives.
func appOnly(name string) *cobra.Command {
	return &cobra.Command{
		Use:                name,
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, _ []string) error {
			return usagef("%s needs the application's pipeline, which this standalone binary does not have: run it through the command mounted in your binary (for example `myapp flamingock %s`, after root.AddCommand(cli.Command(runner))); here: audit, issue and lock", name, name)
		},
	}
}

// env is what every command of one tree shares: the options, the runner
// (embedded) or the store URL (standalone), and the global flags.
type env struct {
	cfg        config
	runner     *flamingock.Runner
	standalone bool
	storeURL   string
	json       bool
	output     string
	top        *cobra.Command
}

func (e *env) root(short string) *cobra.Command {
	root := &cobra.Command{
		Use:           e.cfg.name,
		Short:         short,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	group(root)
	root.PersistentFlags().BoolVar(&e.json, "json", false, "print a JSON document instead of text (schema in docs/operations.md)")
	root.PersistentFlags().StringVarP(&e.output, "output", "o", outputTable, "`FORMAT`: table (fits $COLUMNS, default 100; stages by their last element), wide (full stages and text) or json (as --json)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	e.top = root
	return root
}

// prog is how users invoke this tree: "flamingock" standalone, or
// "myapp flamingock" when mounted. Guidance quotes it in commands to run.
func (e *env) prog() string { return e.top.CommandPath() }

// openStore returns the audit store the command works on and a function to
// call when done with it. The runner's store stays open: it is the
// application's.
func (e *env) openStore(ctx context.Context) (audit.Store, func(), error) {
	if !e.standalone {
		if e.runner == nil {
			return nil, nil, errors.New("cli.Command was given a nil *flamingock.Runner; build the runner before the command")
		}
		return e.runner.Store(), func() {}, nil
	}
	raw := e.storeURL
	if raw == "" {
		raw = os.Getenv(EnvStore)
	}
	if raw == "" {
		return nil, nil, usageErr(fmt.Errorf("no audit store: pass --store URL or set %s (for example sqlite:///var/lib/app/flamingock.db, postgres://user@db.example:5432/app or couchbase://cb.example/app)", EnvStore))
	}
	s, err := openStoreURL(ctx, raw)
	if err != nil {
		return nil, nil, err
	}
	return s, func() { _ = s.Close() }, nil
}

// Execute runs cmd with args and the given streams, prints any error to
// stderr with a hint of what to do next, and returns the exit code: 0 on
// success, 2 for a usage error (unknown command or flag, missing or invalid
// flag value), 1 for anything else, including validate finding pending
// changes and issue list finding issues.
func Execute(ctx context.Context, cmd *cobra.Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if args == nil {
		args = []string{}
	}
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	prev := cmd.FlagErrorFunc()
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(prev(c, err)) })
	found, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	code := exitCode(err)
	fmt.Fprintf(stderr, "Error: %v\n", err)
	if code == ExitUsage && found != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", found.CommandPath())
	}
	return code
}

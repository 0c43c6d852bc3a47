// Package cli is the operations command line of flamingock-go: it reads the
// audit trail, lists the changes that need a human (issues), explains them,
// records an operator's resolution, and shows or breaks the run lock.
//
// It comes in two shapes built from the same commands:
//
//   - [Standalone] connects to an audit store by URL (--store or the
//     FLAMINGOCK_STORE environment variable) through package storeurl, for
//     the stores the program imports. It needs nothing compiled from the
//     application, so it can be installed once and pointed at any service's
//     store. cmd/flamingock is this command, with every store.
//   - [Command] takes the application's [flamingock.Runner] and is mounted
//     as a subcommand of the application's own binary. Besides everything
//     the standalone command does (against the runner's store) it offers the
//     commands that need the compiled registry: plan, apply, validate,
//     status, and undo (which rolls applied changes back with their
//     rollback functions).
//
// [Execute] runs either in-process with explicit arguments and streams and
// returns the process exit code: 0 success, 1 failure (or, for validate
// and issue list, something pending or needing a human), 2 a usage error.
//
// Output is an aligned table for people that fits the terminal ($COLUMNS,
// else 100 columns; -o wide for full text), coloured only on a terminal and
// never when NO_COLOR is set, with times in the local zone; --json gives
// scripts a stable, versioned document instead. docs/operations.md lists
// every command, flag, field and exit code.
package cli

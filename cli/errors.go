package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes returned by [Execute].
const (
	// ExitOK: the command did what was asked and found nothing wrong.
	ExitOK = 0
	// ExitFailure: the command failed, or found what it checks for
	// (validate: pending changes or issues; issue list: issues).
	ExitFailure = 1
	// ExitUsage: the command line is wrong: unknown command or flag, a
	// missing required flag, an invalid flag value.
	ExitUsage = 2
)

// usageError marks an error as the user's command line being wrong.
type usageError struct{ err error }

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

func usageErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*usageError](err); ok {
		return err
	}
	return &usageError{err: err}
}

func usagef(format string, args ...any) error { return usageErr(fmt.Errorf(format, args...)) }

func exitCode(err error) int {
	if _, ok := errors.AsType[*usageError](err); ok {
		return ExitUsage
	}
	// Cobra reports an unknown subcommand of a root that has no Args
	// validator of ours (an application's root) in these words.
	if strings.HasPrefix(err.Error(), "unknown command ") || strings.HasPrefix(err.Error(), "unknown flag") {
		return ExitUsage
	}
	return ExitFailure
}

// group makes cmd a command that only holds subcommands: run alone it asks
// for one, and an unknown word is a usage error naming the closest
// subcommand.
func group(cmd *cobra.Command) {
	cmd.SuggestionsMinimumDistance = 2
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return usageErr(errors.New(msg))
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		var names []string
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		return usagef("%s needs a subcommand: one of %s", c.CommandPath(), strings.Join(names, ", "))
	}
}

// noArgs rejects positional arguments: every input is a named flag.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q (values are given with flags, e.g. --change ID)", c.CommandPath(), args[0])
	}
	return nil
}

// required returns a usage error naming the flags of names the user left
// empty.
func required(c *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := c.Flags().Lookup(n); f != nil && f.Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return usagef("%s needs %s", c.CommandPath(), strings.Join(missing, " and "))
}

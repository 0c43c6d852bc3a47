package gen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/flamingock/flamingock-go/internal/sqlimport"
)

// Exit codes of the command. -check and -diff follow `wire diff` and
// `diff` itself: 0 current, 1 stale, 2 trouble.
const (
	ExitOK    = 0 // generated (or, with -check/-diff, everything is current)
	ExitStale = 1 // -check/-diff: a generated file is missing, stale or left over
	ExitError = 2 // errors in the code, in loading it, or in the command line
)

const usage = `usage: flamingock-gen [-check | -diff] [-tags list] [packages]

flamingock-gen writes flamingock_gen.go into each package (default ".")
that declares //flamingock:change functions: a typed, ordered registry
exposed as func Stage() flamingock.Stage. A .go file argument stands for
the package in its directory.

Exit codes: 0 done (or current), 1 stale (with -check or -diff), 2 errors.

Flags:
`

// Main runs the flamingock-gen command line with args (without the program
// name), writing diffs to stdout and diagnostics to stderr, and returns the
// exit code. It is the whole command, so tests run it in-process.
func Main(args []string, stdout, stderr io.Writer) int {
	return run(context.Background(), "", args, stdout, stderr)
}

// run is Main with a working directory ("" for the current one).
func run(ctx context.Context, dir string, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "import" {
		return sqlimport.Main(args[1:], stdout, stderr)
	}
	fl := flag.NewFlagSet("flamingock-gen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	check := fl.Bool("check", false, "write nothing; exit 1 and print a unified diff if a generated file is not current")
	diff := fl.Bool("diff", false, "write nothing; print a unified diff of every stale file (exit 1 if any)")
	tags := fl.String("tags", "", "build tags to load the packages with, comma- or space-separated (as go build -tags)")
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitError
	}
	cfg := Config{Dir: dir, Patterns: fl.Args(), Tags: splitTags(*tags)}
	res, err := Generate(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "flamingock-gen: %v\n", err)
		return ExitError
	}
	if len(res.Diagnostics) > 0 {
		for _, d := range res.Diagnostics {
			fmt.Fprintln(stderr, d.Format(res.Dir))
		}
		fmt.Fprintf(stderr, "flamingock-gen: %d error(s); nothing written\n", len(res.Diagnostics))
		return ExitError
	}
	if *check || *diff {
		stale := Stale(res)
		if len(stale) == 0 {
			return ExitOK
		}
		io.WriteString(stdout, Diff(res))
		if *check {
			for _, f := range stale {
				fmt.Fprintln(stderr, f.Describe(res.Dir))
			}
		}
		return ExitStale
	}
	if err := Write(res); err != nil {
		fmt.Fprintf(stderr, "flamingock-gen: %v\n", err)
		return ExitError
	}
	return ExitOK
}

// splitTags accepts the forms go build does: comma- or space-separated.
func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/internal/cliout"
)

// out is where one command execution writes, and how.
type out struct {
	w     io.Writer
	color bool
	json  bool
	// wide: tables show stages in full and are not fitted to the width.
	wide  bool
	width int
	loc   *time.Location
	now   time.Time
}

// defaultWidth is the width tables fit when $COLUMNS does not say.
const defaultWidth = 100

// Output formats of -o.
const (
	outputTable = "table"
	outputWide  = "wide"
	outputJSON  = "json"
)

func (e *env) out(c *cobra.Command) *out {
	w := c.OutOrStdout()
	asJSON := e.json || e.output == outputJSON
	width := defaultWidth
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		width = n
	}
	return &out{
		w:     w,
		color: !asJSON && cliout.ColorWanted(w, os.Getenv),
		json:  asJSON,
		wide:  e.output == outputWide,
		width: width,
		loc:   e.cfg.loc,
		now:   e.cfg.now(),
	}
}

// checkOutput validates -o.
func (e *env) checkOutput(c *cobra.Command) error {
	switch e.output {
	case outputTable, outputWide:
		if f := c.Flag("output"); e.json && f != nil && f.Changed {
			return usagef("--json and -o %s ask for two formats: give one (-o json is --json)", e.output)
		}
		return nil
	case outputJSON:
		return nil
	}
	return usagef("-o %q: want table, wide or json", e.output)
}

func (o *out) printf(format string, args ...any) { fmt.Fprintf(o.w, format, args...) }

func (o *out) paint(s string, st cliout.Style) string { return cliout.Paint(s, st, o.color) }

func (o *out) time(t time.Time) string { return cliout.Time(t, o.loc) }

// when is a time followed by how long ago it was.
func (o *out) when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return o.time(t) + " (" + cliout.Age(t, o.now) + ")"
}

// table writes t for a terminal: a stage is shown by its package's last
// element and the table fits the width (long text ends in "…"); with
// -o wide, in full.
func (o *out) table(t *cliout.Table) error {
	if !o.wide {
		t.Map("STAGE", path.Base)
		t.Fit(o.width)
	}
	return t.Write(o.w, o.color)
}

// writeJSON writes v indented, followed by a newline.
func (o *out) writeJSON(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// run adapts a command body to cobra: it hands the body the context and
// an [out] for this execution.
func (e *env) run(body func(c *cobra.Command, o *out) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, _ []string) error {
		if err := e.checkOutput(c); err != nil {
			return err
		}
		return body(c, e.out(c))
	}
}

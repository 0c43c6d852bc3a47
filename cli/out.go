package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/internal/cliout"
)

// out is where one command execution writes, and how.
type out struct {
	w     io.Writer
	color bool
	json  bool
	loc   *time.Location
	now   time.Time
}

func (e *env) out(c *cobra.Command) *out {
	w := c.OutOrStdout()
	return &out{
		w:     w,
		color: !e.json && cliout.ColorWanted(w, os.Getenv),
		json:  e.json,
		loc:   e.cfg.loc,
		now:   e.cfg.now(),
	}
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

func (o *out) table(t *cliout.Table) error { return t.Write(o.w, o.color) }

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
		return body(c, e.out(c))
	}
}

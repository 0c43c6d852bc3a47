package cli_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/cli"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// longPipeline has the stage paths, change ids and reasons of a real
// service: too wide for 100 columns when printed in full.
func longPipeline(w *workshop) flamingock.Pipeline {
	fail := func(context.Context, *os.Root) error {
		return errorString("POST https://billing-api.internal.example.com/v2/invoices/backfill: 503 Service Unavailable: upstream connect error or disconnect/reset before headers")
	}
	return flamingock.NewPipeline(
		flamingock.Stage{Name: "github.com/example-corp/billing-service/internal/migrations/schema", Changes: []flamingock.Change{
			fileChange("create-invoice-line-items-table", "0001", writeFile("a", "a"), nil),
			fileChange("add-currency-and-tax-rate-columns-to-invoice-lines", "0002", writeFile("b", "b"), nil),
		}},
		flamingock.Stage{Name: "github.com/example-corp/billing-service/internal/migrations/backfills", Changes: []flamingock.Change{
			fileChange("backfill-invoice-line-items-from-legacy-json-blobs", "0001", fail, nil),
		}},
	)
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestTablesFit100Columns: at the default width every table line fits 100
// columns, stages show their package's last element and long text ends in
// "…"; -o wide shows them in full. The golden file is the output as
// printed, padding included.
func TestTablesFit100Columns(t *testing.T) {
	t.Setenv("COLUMNS", "")
	store, url := openSQLite(t)
	w := newWorkshop(t)
	target := flamingock.NewDependencyTarget("files", w.root)
	runner, err := flamingock.New(longPipeline(w), flamingock.WithAuditStore(store), flamingock.WithTargets(target),
		flamingock.WithLogger(slog.New(slog.DiscardHandler)), flamingock.WithLockWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	app := func() *cobra.Command { return cli.Command(runner, cli.WithLocation(testZone)) }

	var golden100 strings.Builder
	for _, args := range [][]string{{"plan"}, {"status"}, {"validate"}} {
		r := execute(t, app, args...)
		golden100.WriteString("$ flamingock " + strings.Join(args, " ") + "\n" + r.stdout + "\n")
		checkWidth(t, r, 100)
		if strings.Contains(r.stdout, "github.com/example-corp") {
			t.Errorf("%v should show stages by their last element:\n%s", args, r)
		}
	}
	r := expect(t, execute(t, app, "plan", "-o", "wide"), 0)
	if !strings.Contains(r.stdout, "github.com/example-corp/billing-service/internal/migrations/backfills") {
		t.Errorf("plan -o wide should show the full stage:\n%s", r)
	}
	expect(t, execute(t, app, "plan", "-o", "tall"), cli.ExitUsage)

	// After a failed run, validate's reasons are long and still free of
	// times and hosts.
	expect(t, execute(t, app, "apply"), 1)
	r = execute(t, app, "validate")
	golden100.WriteString("$ flamingock validate (after a failed apply)\n" + r.stdout)
	checkWidth(t, r, 100)
	golden(t, "width100.golden", golden100.String())

	// Tables whose rows hold times, hosts and errors: checked for width,
	// not against a golden (the host name varies).
	for _, args := range [][]string{{"status"}, {"audit", "list", "--history"}, {"issue", "list"}} {
		checkWidth(t, execute(t, standalone(url), args...), 100)
	}
	r = execute(t, standalone(url), "audit", "list", "--history", "-o", "wide")
	if !strings.Contains(r.stdout, "upstream connect error or disconnect/reset before headers") {
		t.Errorf("audit list -o wide should show the error in full:\n%s", r)
	}
	t.Setenv("COLUMNS", "80")
	checkWidth(t, execute(t, standalone(url), "audit", "list", "--history"), 80)
}

// checkWidth checks the table the output starts with (up to the first
// blank line; prose after it wraps in the terminal).
func checkWidth(t *testing.T, r result, width int) {
	t.Helper()
	table, _, _ := strings.Cut(r.stdout, "\n\n")
	for _, line := range strings.Split(table, "\n") {
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("line of %d columns, more than %d:\n%s\n%s", n, width, line, r)
		}
	}
}

package cli_test

import (
	"context"
	"log/slog"
	"os"
	"regexp"
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

// TestHistoryKeepsStatesAndTimesWhole: at 100 columns audit list --history
// cuts the note, then who, then ids, but never a state or a time, so the two
// manual resolutions read differently. The golden file is scrubbed of
// times and run ids; a cut time would not match the scrubber and show.
func TestHistoryKeepsStatesAndTimesWhole(t *testing.T) {
	t.Setenv("COLUMNS", "")
	store, url := openSQLite(t)
	w := newWorkshop(t)
	target := flamingock.NewDependencyTarget("files", w.root)
	runner, err := flamingock.New(longPipeline(w), flamingock.WithAuditStore(store), flamingock.WithTargets(target),
		flamingock.WithLogger(slog.New(slog.DiscardHandler)), flamingock.WithService("billing-service", "2.0.0"),
		flamingock.WithLockWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	app := func() *cobra.Command { return cli.Command(runner, cli.WithLocation(testZone)) }
	ops := standalone(url)
	const id = "backfill-invoice-line-items-from-legacy-json-blobs"
	expect(t, execute(t, app, "apply"), 1)
	expect(t, execute(t, ops, "audit", "fix", "--change", id, "--resolution", "rolled-back",
		"--reason", "checked the invoices table by hand: no line item was written by the failed backfill", "--by", "oncall-billing@example-corp.com"), 0)
	expect(t, execute(t, app, "apply"), 1)
	expect(t, execute(t, ops, "audit", "fix", "--change", id, "--resolution", "applied",
		"--reason", "the backfill finished from the admin console; every legacy blob has its line items", "--by", "oncall-billing@example-corp.com"), 0)

	r := expect(t, execute(t, ops, "audit", "list", "--history"), 0)
	checkWidth(t, r, 100)
	for _, want := range []string{"MANUAL_MARKED_AS_APPLIED", "MANUAL_MARKED_AS_ROLLED_BACK"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the history should show %s whole:\n%s", want, r)
		}
	}
	times := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+`)
	if got := len(times.FindAllString(r.stdout, -1)); got != 10 {
		t.Errorf("%d whole timestamps, want one on each of the 10 entries:\n%s", got, r)
	}
	golden(t, "history100.golden", "$ flamingock audit list --history\n"+newScrubber(w.dir).scrub(r.stdout))
}

package cli_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/cli"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// benchStore returns the URL of a SQLite audit store holding n applied
// changes (2n entries).
func benchStore(b *testing.B, n int) string {
	b.Helper()
	store, url := openSQLite(b)
	changes := make([]flamingock.Change, n)
	for i := range changes {
		changes[i] = flamingock.Change{ID: fmt.Sprintf("change-%04d", i), Order: fmt.Sprintf("%04d", i), Recovery: flamingock.RecoveryManual,
			Apply: flamingock.ChangeFunc(func(context.Context, *targets.Deps) error { return nil })}
	}
	r, err := flamingock.New(flamingock.NewPipeline(flamingock.Stage{Name: "bench", Changes: changes}), flamingock.WithAuditStore(store),
		flamingock.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	return url
}

// BenchmarkStandalone measures whole in-process invocations of the
// standalone CLI, opening the store each time as the binary does.
func BenchmarkStandalone(b *testing.B) {
	url := benchStore(b, 1000)
	for _, args := range [][]string{
		{"issue", "list"},
		{"audit", "list"},
		{"audit", "list", "--history", "--json"},
		{"lock", "show"},
	} {
		b.Run(strings.Join(args, "_"), func(b *testing.B) {
			for b.Loop() {
				cmd := cli.Standalone(cli.WithLocation(testZone))
				_ = cmd.PersistentFlags().Set("store", url)
				if code := cli.Execute(context.Background(), cmd, args, nil, io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}

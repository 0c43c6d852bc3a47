package cli_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/cli"
)

// TestVersion: `version` and `--version` print the build, mounted or not.
// Under go test the main module is the test binary's, so flamingock-go's
// version is "(devel)" and there is no application line; the linker stamps
// of a release build are tested in cmd/flamingock.
func TestVersion(t *testing.T) {
	store, _ := openSQLite(t)
	runner := newWorkshop(t).runner(t, store)
	mounted := func() *cobra.Command {
		root := &cobra.Command{Use: "shop"}
		root.AddCommand(cli.Command(runner))
		return root
	}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		for name, run := range map[string]func() result{
			"standalone": func() result { return execute(t, standalone(""), args...) },
			"mounted":    func() result { return execute(t, mounted, append([]string{"flamingock"}, args...)...) },
		} {
			r := expect(t, run(), 0)
			if !strings.HasPrefix(r.stdout, "flamingock-go ") || !strings.Contains(r.stdout, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n") {
				t.Errorf("%s %q: stdout %q, want the flamingock-go line and the Go version", name, args, r.stdout)
			}
		}
	}
	r := expect(t, execute(t, standalone(""), "version", "extra"), 2)
	if !strings.Contains(r.stderr, "extra") {
		t.Errorf("version with an argument: stderr %q, want it named", r.stderr)
	}
}

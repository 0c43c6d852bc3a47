package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/flamingock/flamingock-go/internal/buildinfo"
)

// versionCmd prints which flamingock-go (and, mounted, which application)
// the binary was built from. --version on the root prints the same.
func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the flamingock-go version and commit, the application's when mounted, and the Go version",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := io.WriteString(c.OutOrStdout(), buildinfo.Read().String())
			return err
		},
	}
}

// setVersion makes --version and -v on root print what the version command
// prints. It is a flag of its own rather than cobra's Version: cobra's
// version template would link text/template, whose reflection keeps the
// linker from dropping unused methods (about 2 MB more in an application
// that mounts the command; internal/linkcheck measures it).
func setVersion(root *cobra.Command) {
	show := root.Flags().BoolP("version", "v", false, "print the flamingock-go version, as the version command does")
	runE := root.RunE
	root.RunE = func(c *cobra.Command, args []string) error {
		if *show {
			_, err := io.WriteString(c.OutOrStdout(), buildinfo.Read().String())
			return err
		}
		return runE(c, args)
	}
}

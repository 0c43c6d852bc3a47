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

// setVersion makes --version (and -v, when free) on root print what the
// version command prints.
func setVersion(root *cobra.Command) {
	in := buildinfo.Read()
	root.Version = in.Version
	root.SetVersionTemplate(in.String())
}

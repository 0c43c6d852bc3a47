package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// ModulePath is the path of the flamingock-go module.
const ModulePath = "github.com/flamingock/flamingock-go"

// Set by the linker (-X) in release builds; see the package doc.
var (
	version string
	commit  string
)

// Info is what a binary reports about its build.
type Info struct {
	// Version is the flamingock-go module version: stamped, else from the
	// build information, else "(devel)".
	Version string
	// Commit is the flamingock-go commit when known: stamped, or the VCS
	// revision of a build of this module itself. Modified is set when that
	// checkout had uncommitted changes.
	Commit   string
	Modified bool
	// App is the main module (path and version) when flamingock-go is a
	// dependency, that is when the CLI is mounted in an application.
	App        string
	AppVersion string
	AppCommit  string
	// Go is the toolchain that built the binary; Platform is GOOS/GOARCH.
	Go       string
	Platform string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return from(bi, version, commit)
}

// from derives the information from bi (nil when the binary has none) and
// the linker stamps.
func from(bi *debug.BuildInfo, stampedVersion, stampedCommit string) Info {
	in := Info{Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		in.Go = bi.GoVersion
		var revision string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if bi.Main.Path == ModulePath {
			in.Version = orDevel(bi.Main.Version)
			in.Commit, in.Modified = revision, modified
		} else {
			in.App, in.AppVersion, in.AppCommit = bi.Main.Path, orDevel(bi.Main.Version), revision
			for _, d := range bi.Deps {
				if d.Path != ModulePath {
					continue
				}
				in.Version = orDevel(d.Version)
				if d.Replace != nil {
					in.Version += " (replaced by " + d.Replace.Path
					if d.Replace.Version != "" {
						in.Version += " " + d.Replace.Version
					}
					in.Version += ")"
				}
			}
		}
	}
	if stampedVersion != "" {
		in.Version = stampedVersion
	}
	if stampedCommit != "" {
		in.Commit, in.Modified = stampedCommit, false
	}
	return in
}

func orDevel(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}

// String is the text `flamingock version` prints: one line for
// flamingock-go, one for the application when mounted, one for Go.
func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flamingock-go %s", in.Version)
	if in.Commit != "" {
		fmt.Fprintf(&b, " (commit %s", in.Commit)
		if in.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	if in.App != "" {
		fmt.Fprintf(&b, "application %s %s", in.App, in.AppVersion)
		if in.AppCommit != "" {
			fmt.Fprintf(&b, " (commit %s)", in.AppCommit)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%s %s\n", in.Go, in.Platform)
	return b.String()
}

package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "1a2b3c"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name           string
		bi             *debug.BuildInfo
		version, stamp string
		want           []string
		not            []string
	}{
		{
			name: "go install of the standalone CLI at a version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: ModulePath, Version: "v0.2.0"}},
			want: []string{"flamingock-go v0.2.0\n", "go1.26.8 "},
			not:  []string{"application", "commit"},
		},
		{
			name: "a build in a checkout with VCS stamping",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: ModulePath, Version: "(devel)"}, Settings: vcs},
			want: []string{"flamingock-go (devel) (commit 1a2b3c, modified)\n"},
		},
		{
			name: "mounted in an application",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/shop", Version: "v1.4.2"}, Settings: vcs,
				Deps: []*debug.Module{{Path: "golang.org/x/sys", Version: "v0.49.0"}, {Path: ModulePath, Version: "v0.2.0"}}},
			want: []string{"flamingock-go v0.2.0\n", "application example.com/shop v1.4.2 (commit 1a2b3c)\n"},
		},
		{
			name: "mounted, flamingock-go replaced by a local checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/shop"},
				Deps: []*debug.Module{{Path: ModulePath, Version: "v0.0.0-00010101000000-000000000000", Replace: &debug.Module{Path: "../flamingock-go"}}}},
			want: []string{"flamingock-go v0.0.0-00010101000000-000000000000 (replaced by ../flamingock-go)\n", "application example.com/shop (devel)\n"},
		},
		{
			name:    "release build stamped by the linker",
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: ModulePath, Version: "(devel)"}, Settings: vcs},
			version: "v0.3.0", stamp: "abcdef0",
			want: []string{"flamingock-go v0.3.0 (commit abcdef0)\n"},
			not:  []string{"modified"},
		},
		{
			name: "no build information",
			want: []string{"flamingock-go (devel)\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := from(tc.bi, tc.version, tc.stamp).String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("output has %q:\n%s", n, got)
				}
			}
		})
	}
}

package placement

import (
	"go/parser"
	"go/token"
	"testing"
)

func TestOSArchSuffix(t *testing.T) {
	for name, want := range map[string]string{
		"x_linux.go":              "_linux",
		"0001_x_windows_amd64.go": "_windows_amd64",
		"x_arm64_test.go":         "_arm64",
		"linux_amd64.go":          "_amd64", // "linux" is the name, as for the go command
		"linux.go":                "",
		"0001_create_users.go":    "",
		"x_unix.go":               "", // unix is a build tag, not a file-name suffix
		"x_amd64_linux.go":        "_linux",
	} {
		if got := osArchSuffix(name); got != want {
			t.Errorf("osArchSuffix(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestConstraintGoVersions(t *testing.T) {
	for _, tc := range []struct {
		line, goVersion string
		constrained     bool
	}{
		{"//go:build go1.21", "go1.26", false}, // every build of a go 1.26 module has it
		{"//go:build go1.26", "go1.26", false},
		{"//go:build go1.27", "go1.26", true}, // an older toolchain may build the module
		{"//go:build go1.21 || linux", "go1.26", false},
		{"//go:build linux || !linux", "go1.26", false},
		{"//go:build go1.21 && linux", "go1.26", true},
		{"//go:build !go1.21", "go1.26", true},
		{"//go:build go1.21", "", true}, // unknown module version: taken as a constraint
		{"// +build go1.21", "go1.26.1", false},
		{"//go:build ignore", "go1.26", true},
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", tc.line+"\n\npackage p\n", parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		got := Constraint(f, "x.go", tc.goVersion)
		if (got != "") != tc.constrained {
			t.Errorf("Constraint(%q, %s) = %q, want constrained %v", tc.line, tc.goVersion, got, tc.constrained)
		}
	}
}

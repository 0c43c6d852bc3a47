package placement

import "testing"

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

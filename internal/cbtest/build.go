package cbtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The gocaves version the tests run against, and the version of its client
// module that builds with it (the one its go.mod names is not on the proxy).
const (
	GocavesVersion = "v0.0.1-75"
	gocavesModule  = "github.com/couchbaselabs/gocaves"
	clientModule   = "github.com/couchbaselabs/gocaves/client"
	clientVersion  = "v0.0.0-20250107114554-f96479220ae8"
)

// EnvBinary names an environment variable that, when set, is the gocaves
// binary to use instead of building one.
const EnvBinary = "FLAMINGOCK_GOCAVES_BIN"

// Dir is the cache folder the gocaves binary is built into.
func Dir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder for the gocaves build: %w", err)
	}
	return filepath.Join(base, "flamingock-go", "gocaves-"+GocavesVersion), nil
}

// Binary returns the path of the gocaves binary, building it first when the
// cache folder has none. Concurrent callers, in this process or others,
// build it once.
func Binary() (string, error) {
	if b := os.Getenv(EnvBinary); b != "" {
		return b, nil
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gocaves")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	unlock, err := lockFile(filepath.Join(dir, "build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // another process built it while we waited
	}
	if err := build(dir, bin); err != nil {
		return "", fmt.Errorf("build gocaves %s into %s: %w", GocavesVersion, dir, err)
	}
	return bin, nil
}

// build copies the gocaves module out of the module cache, completes it and
// builds it to bin, through a temporary name so that no reader ever sees a
// half-written binary.
func build(dir, bin string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is needed to build gocaves: %w", err)
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	run := func(wd string, args ...string) ([]byte, error) {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = wd
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return out, nil
	}

	out, err := run(dir, "mod", "download", "-json", gocavesModule+"@"+GocavesVersion)
	if err != nil {
		return err
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return fmt.Errorf("read go mod download output: %w", err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return fmt.Errorf("go mod download %s@%s: %s", gocavesModule, GocavesVersion, mod.Error)
	}

	src, err := os.MkdirTemp(dir, "src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := copyTree(mod.Dir, src); err != nil {
		return fmt.Errorf("copy %s: %w", mod.Dir, err)
	}
	steps := [][]string{
		{"mod", "edit", "-replace=" + clientModule + "=" + clientModule + "@" + clientVersion},
		{"mod", "download", clientModule},
		{"run", "./tools/prebuildstep.go"},
	}
	for _, s := range steps {
		if _, err := run(src, s...); err != nil {
			return err
		}
	}
	tmp := bin + ".tmp-" + filepath.Base(src)
	if _, err := run(src, "build", "-o", tmp, "."); err != nil {
		return err
	}
	if err := os.Rename(tmp, bin); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// copyTree copies the regular files under from to to, writable (the module
// cache is read-only).
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return errors.New(path + ": not a regular file")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

package gen

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/flamingock/flamingock-go/internal/gen/unidiff"
)

// Write brings the files on disk in line with res: it writes each file
// whose bytes differ and removes generated files whose package no longer
// declares changes. Unchanged files are not touched, so their modification
// times (and build caches keyed on them) survive. It refuses to write
// anything when res has diagnostics.
func Write(res *Result) error {
	if len(res.Diagnostics) > 0 {
		return errors.New("not writing: there are errors")
	}
	for _, f := range res.Files {
		if !f.Stale() {
			continue
		}
		if f.Want == nil {
			if err := removeIfOurs(f.Path); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(f.Path, f.Want, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// removeIfOurs removes path after reading it again, so a file the user
// replaced since it was loaded is left alone.
func removeIfOurs(path string) error {
	content, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isOurs(content) {
		return nil
	}
	return os.Remove(path)
}

// Diff returns the unified diff of every stale file, from what is on disk
// to what should be. Paths are relative to the root of the git repository
// around res.Dir, which is what git apply expects; outside a repository,
// to res.Dir or the nearest directory above it that holds the file.
func Diff(res *Result) string {
	var b bytes.Buffer
	base := diffBase(res.Dir)
	for _, f := range res.Files {
		if !f.Stale() {
			continue
		}
		rel := filepath.ToSlash(relPath(f.Path, commonDir(base, f.Path)))
		oldName, newName := "a/"+rel, "b/"+rel
		if f.Have == nil {
			oldName = "/dev/null"
		}
		if f.Want == nil {
			newName = "/dev/null"
		}
		b.WriteString(unidiff.Diff(oldName, newName, f.Have, f.Want))
	}
	return b.String()
}

// Stale returns the files that differ from what should be on disk.
func Stale(res *Result) []File {
	var out []File
	for _, f := range res.Files {
		if f.Stale() {
			out = append(out, f)
		}
	}
	return out
}

// diffBase returns the root of the git repository that holds dir (the
// nearest directory with a .git entry), or dir itself.
func diffBase(dir string) string {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}

// commonDir returns dir, or the nearest directory above it that holds path.
func commonDir(dir, path string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if rel, err := filepath.Rel(d, path); err == nil && filepath.IsLocal(rel) {
			return d
		}
		if filepath.Dir(d) == d {
			return d
		}
	}
}

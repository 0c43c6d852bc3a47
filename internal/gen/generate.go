package gen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Config says what to generate.
type Config struct {
	// Dir is the directory patterns are resolved in and diagnostics are
	// written relative to; empty means the current directory.
	Dir string
	// Patterns are go/packages patterns; empty means ".".
	Patterns []string
	// Tags are extra build tags.
	Tags []string
	// Env is the environment of the go command; nil means os.Environ().
	Env []string
}

// File is one output of a run: a file to write, or to remove.
type File struct {
	Path string // absolute
	// Want is the content the file should have; nil means the file
	// should not exist (its package no longer declares changes).
	Want []byte
	// Have is the file's current content; nil when it does not exist.
	Have []byte
}

// Stale reports whether the file on disk differs from what it should be.
func (f File) Stale() bool {
	if f.Want == nil {
		return f.Have != nil
	}
	return !bytes.Equal(f.Want, f.Have)
}

// Result is the outcome of [Generate].
type Result struct {
	// Dir is Config.Dir made absolute.
	Dir string
	// Packages is the model of every package that declares changes, in
	// import path order.
	Packages []*Package
	// Files lists, in path order, one entry per generated file that
	// exists or should exist.
	Files []File
	// Diagnostics lists every problem, ordered by position. When it is
	// not empty, Files must not be written.
	Diagnostics []Diagnostic
}

// Generate loads the packages, checks their directives and renders their
// registries, in memory. Problems with the user's code are returned in
// Result.Diagnostics; the error is for failures to run at all (the go
// command missing, say).
func Generate(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		cfg.Dir = wd
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	c := &collector{dir: dir}
	pkgs, runtime, err := load(ctx, cfg, c)
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: dir}
	models := map[string]*Package{}          // by output path
	loaded := map[string]*packages.Package{} // by output path
	for _, p := range pkgs {
		if len(p.Errors) > 0 || p.Types == nil {
			continue // reported by load; its types cannot be trusted
		}
		m := checkPackage(p, c)
		f, err := outputFile(p, m, c)
		if err != nil {
			return nil, err
		}
		if m != nil {
			res.Packages = append(res.Packages, m)
		}
		if f != nil {
			res.Files = append(res.Files, *f)
			models[f.Path] = m
			loaded[f.Path] = p
		}
	}
	// Ids must be unique across the stages of a pipeline. The generator
	// sees every package of one invocation and treats them as one
	// pipeline; a repository with several applications runs it once per
	// application (Pipeline.Validate checks the composed pipeline again at
	// run time).
	uniqueIDs(res.Packages, c)
	res.Diagnostics = c.sorted()
	if len(res.Diagnostics) > 0 {
		return res, nil
	}
	imp := newRegistryImporter(ctx, cfg, runtime)
	for i, f := range res.Files {
		m := models[f.Path]
		if m == nil {
			continue
		}
		// The common case, nothing changed, is told by the digest line
		// without rendering (see digest.go).
		digest := modelDigest(m)
		if f.Have != nil && isCurrent(f.Have, digest) {
			res.Files[i].Want = f.Have
			verifyCurrent(loaded[f.Path], f, c)
			continue
		}
		body, err := emitBody(m)
		if err != nil {
			return nil, err
		}
		res.Files[i].Want = withDigest(digest, body)
		verifyRendered(loaded[f.Path], res.Files[i], imp, c)
	}
	if len(c.diags) > 0 {
		res.Diagnostics = c.sorted()
		return res, nil
	}
	slices.SortFunc(res.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return res, nil
}

// outputFile returns what should happen to the generated file of p: nil
// when there is nothing to do (no changes and no file of ours).
func outputFile(p *packages.Package, m *Package, c *collector) (*File, error) {
	path := filepath.Join(packageDir(p), OutputName)
	have, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		have = nil
	} else if err != nil {
		return nil, err
	}
	ours := have != nil && isOurs(have)
	switch {
	case have != nil && !ours && m != nil:
		c.errorf(token.Position{Filename: path, Line: 1, Column: 1},
			"%s exists but was not written by flamingock-gen (its first line is not %q); rename it, generating would overwrite it", OutputName, Header)
		return nil, nil
	case m != nil:
		// Want is filled in once there are no errors; a placeholder
		// marks the file as one to write.
		return &File{Path: path, Want: []byte{}, Have: have}, nil
	case ours:
		return &File{Path: path, Have: have}, nil
	}
	return nil, nil
}

// isOurs reports whether content starts with the generator's header line,
// the only files the generator overwrites or removes.
func isOurs(content []byte) bool {
	first, _, _ := bytes.Cut(content, []byte("\n"))
	return string(bytes.TrimRight(first, "\r")) == Header
}

// uniqueIDs reports change ids declared in more than one package. Within
// a package, duplicates are reported by checkPackage.
func uniqueIDs(pkgs []*Package, c *collector) {
	seen := map[string]*Change{}
	owner := map[*Change]string{}
	for _, p := range pkgs {
		for _, ch := range p.Changes {
			owner[ch] = p.Path
		}
	}
	for _, p := range pkgs {
		for _, ch := range p.Changes {
			if prev, dup := seen[ch.ID]; dup {
				c.errorf(ch.IDPos, "change %q: duplicate change id: also declared in package %s at %s; ids must be unique across all stages",
					ch.ID, owner[prev], c.at(prev.IDPos))
				continue
			}
			seen[ch.ID] = ch
		}
	}
}

// Describe returns a one-line summary of a file's action, for -check.
func (f File) Describe(dir string) string {
	rel := relPath(f.Path, dir)
	switch {
	case f.Want == nil:
		return fmt.Sprintf("%s: stale: its package declares no changes any more; run go generate to remove it", rel)
	case f.Have == nil:
		return fmt.Sprintf("%s: missing; run go generate", rel)
	}
	if bytes.Equal(bytes.ReplaceAll(f.Have, []byte("\r\n"), []byte("\n")), f.Want) {
		return fmt.Sprintf("%s: only line endings differ: the file on disk has CRLF line endings, flamingock-gen writes LF; "+
			"check it out with LF (a .gitattributes line \"%s text eol=lf\") or run go generate", rel, OutputName)
	}
	return fmt.Sprintf("%s: out of date; run go generate", rel)
}

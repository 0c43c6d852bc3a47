package gettingstarted

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// section is the README section the test follows.
const section = "## Start a new project"

// block is a fenced code block of the section, with the file name the
// prose before it gives ("`main.go`:"), if any.
type block struct {
	lang, file, body string
}

// readSection returns the code blocks of the README's getting-started
// section, in order.
func readSection(t *testing.T) []block {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fileRef := regexp.MustCompile("`([A-Za-z0-9_./-]+\\.go)`:\\s*$")
	var (
		blocks  []block
		in      bool
		cur     *block
		lastRef string
		body    strings.Builder
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == section:
			in = true
			continue
		case in && cur == nil && strings.HasPrefix(line, "## "):
			in = false
		}
		if !in {
			continue
		}
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{lang: strings.TrimPrefix(line, "```"), file: lastRef}
			body.Reset()
			lastRef = ""
		case cur != nil && line == "```":
			cur.body = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		default:
			if m := fileRef.FindStringSubmatch(line); m != nil {
				lastRef = m[1]
			} else if strings.TrimSpace(line) != "" {
				lastRef = ""
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatalf("README.md has no %q section with code blocks", section)
	}
	return blocks
}

// TestStartANewProject creates a module in a temporary directory the way
// the README says, from a local checkout (the release path needs the
// module published), writes the files it shows, and runs the commands it
// lists: go mod tidy, go generate, the program twice and a CLI command.
func TestStartANewProject(t *testing.T) {
	if testing.Short() {
		t.Skip("creates and builds a new module; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	checkout, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readSection(t)
	// go test caches a pass by what this process reads; the go commands
	// below read the checkout in other processes, so stat it here.
	err = filepath.WalkDir(checkout, func(path string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != checkout:
			return filepath.SkipDir
		case !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum"):
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	dir := filepath.Join(work, "shop")

	var commands []string
	files := 0
	for _, b := range blocks {
		switch {
		case b.file != "":
			path := filepath.Join(dir, filepath.FromSlash(b.file))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(b.body), 0o644); err != nil {
				t.Fatal(err)
			}
			files++
		case b.lang == "sh":
			for _, line := range strings.Split(strings.TrimSpace(b.body), "\n") {
				commands = append(commands, strings.TrimSpace(line))
			}
		}
	}
	if files < 2 {
		t.Fatalf("the section shows %d files, want the change and main.go", files)
	}

	// The release path ("go get ...@latest") is replaced by the checkout
	// path the section gives for a local checkout.
	run := func(cmdline string) string {
		t.Helper()
		args := strings.Fields(strings.ReplaceAll(cmdline, "../flamingock-go", checkout))
		if args[0] != "go" {
			t.Fatalf("unexpected command %q in the README section", cmdline)
		}
		cmd := exec.Command(gobin, args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmdline, err, out)
		}
		return string(out)
	}
	var outputs []string
	for _, c := range commands {
		switch {
		case c == "mkdir shop && cd shop":
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(c, "go get "):
			// The release path; the checkout path below replaces it.
		default:
			outputs = append(outputs, run(c))
		}
	}
	for _, want := range []string{"go mod init example.com/shop", "go mod tidy", "go generate ./...", "go run ."} {
		found := false
		for _, c := range commands {
			found = found || c == want
		}
		if !found {
			t.Errorf("the section no longer runs %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "changes", "accounts", "flamingock_gen.go")); err != nil {
		t.Errorf("go generate wrote no registry: %v", err)
	}
	// The outputs of the two runs and the status, in order.
	n := len(outputs)
	if n < 3 {
		t.Fatalf("want at least two runs and a status, got %d outputs", n)
	}
	first, second, status := outputs[n-3], outputs[n-2], outputs[n-1]
	if !strings.Contains(first, "flamingock: change finished") || !strings.Contains(first, "change=create-accounts") {
		t.Errorf("the first run should log the change it applied:\n%s", first)
	}
	if !strings.Contains(second, "flamingock: up to date") || strings.Contains(second, "change started") {
		t.Errorf("the second run should find nothing to do:\n%s", second)
	}
	if !strings.Contains(status, "create-accounts") || !strings.Contains(status, "applied") {
		t.Errorf("`shop flamingock status` should show the applied change:\n%s", status)
	}
}

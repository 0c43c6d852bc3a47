package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

// stampFlag matches the linker flags that stamp internal/buildinfo.
var stampFlag = regexp.MustCompile(`-X\s+github\.com/flamingock/flamingock-go/internal/buildinfo\.(\w+)=`)

// TestReleaseStampsExist: the -X flags of .ci/release and of the Dockerfile
// name variables internal/buildinfo declares. The linker silently ignores
// a -X for a variable that does not exist, so a rename would otherwise ship
// unstamped binaries.
func TestReleaseStampsExist(t *testing.T) {
	vars := packageVars(t, "../../internal/buildinfo/buildinfo.go")
	for file, literal := range map[string]bool{"../../.ci/release": false, "Dockerfile": true} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if !literal {
			// .ci/release names the package once, in $pkg.
			text = strings.ReplaceAll(text, "$pkg.", "github.com/flamingock/flamingock-go/internal/buildinfo.")
		}
		found := map[string]bool{}
		for _, m := range stampFlag.FindAllStringSubmatch(text, -1) {
			found[m[1]] = true
			if !vars[m[1]] {
				t.Errorf("%s stamps buildinfo.%s, which internal/buildinfo does not declare", file, m[1])
			}
		}
		for _, want := range []string{"version", "commit"} {
			if !found[want] {
				t.Errorf("%s does not stamp buildinfo.%s", file, want)
			}
		}
	}
}

// TestDockerfileIsDistrolessNonRoot checks the image's final stage.
func TestDockerfileIsDistrolessNonRoot(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from, user, entrypoint string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "FROM":
			from, user, entrypoint = f[1], "", ""
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entrypoint = strings.Join(f[1:], " ")
		}
	}
	if !strings.HasPrefix(from, "gcr.io/distroless/") || !strings.HasSuffix(from, ":nonroot") {
		t.Errorf("final stage FROM %q, want a distroless :nonroot image", from)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
	if entrypoint != `["/usr/local/bin/flamingock"]` {
		t.Errorf("ENTRYPOINT %s, want the flamingock binary", entrypoint)
	}
}

func packageVars(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				vars[n.Name] = true
			}
		}
	}
	return vars
}

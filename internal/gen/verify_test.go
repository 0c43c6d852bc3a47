package gen

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// compile is the net under every rule: whatever the rendered registry gets
// wrong, a file that does not type-check with its package is caught, and
// one that does passes, with the runtime read from export data before the
// package imports it and the user's types identical to the registry's.
func TestCompileChecksTheRegistryAgainstThePackage(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"p/p.go": "package p\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n)\n\nfunc Create(ctx context.Context, tx *sql.Tx) error { return nil }\n\nfunc helper() int { return 1 }\n",
	})
	pkgs, err := packages.Load(&packages.Config{Mode: loadMode, Dir: dir}, "./p")
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		t.Fatalf("load: %v %v", err, pkgs)
	}
	pkg := pkgs[0]
	imp := newRegistryImporter(context.Background(), Config{Dir: dir}, nil)
	path := filepath.Join(dir, "p", OutputName)
	head := "package p\n\nimport (\n\t\"database/sql\"\n\n\tflamingock \"" + RuntimePath + "\"\n)\n\n"
	good := head + "func Stage() flamingock.Stage {\n\treturn flamingock.Stage{Changes: []flamingock.Change{{Apply: flamingock.Func1[*sql.Tx](Create)}}}\n}\n\nvar _ = helper\n"
	if _, err := compile(pkg, "", path, []byte(good), imp); err != nil {
		t.Errorf("a registry that compiles was rejected: %v", err)
	}
	for _, bad := range []string{
		head + "func Stage() flamingock.Stage { return flamingock.Stage{Changes: []flamingock.Change{{Apply: flamingock.Func1[*sql.DB](Create)}}} }\n",
		head + "var _ *sql.Tx\n\nfunc Stage() flamingock.Stage { return Missing() }\n",
		head + "var _ *sql.Tx\n\nfunc Create() {}\n\nfunc Stage() flamingock.Stage { return flamingock.Stage{} }\n",
	} {
		_, err := compile(pkg, "", path, []byte(bad), imp)
		if err == nil {
			t.Errorf("a registry that does not compile passed:\n%s", bad)
		} else if !strings.Contains(err.Error(), OutputName) {
			t.Errorf("the error does not point into %s: %v", OutputName, err)
		}
	}
}

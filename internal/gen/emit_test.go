package gen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"go/format"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pinnedModel is a package model built by hand that exercises every part
// of the emitter: optional fields, a rollback, no dependencies, an adapter
// with its guard beyond six dependencies, a name clash, and a struct
// literal type (the go/format path).
func pinnedModel() *Package {
	named := func(path, pkgName, name string, under types.Type) *types.Named {
		var pkg *types.Package
		if path != "" {
			pkg = types.NewPackage(path, pkgName)
		}
		return types.NewNamed(types.NewTypeName(token.NoPos, pkg, name, nil), under, nil)
	}
	ctx := named("context", "context", "Context", types.NewInterfaceType(nil, nil))
	tx := types.NewPointer(named("database/sql", "sql", "Tx", types.NewStruct(nil, nil)))
	dialect := named("example.com/m/other/sql", "sql", "Dialect", types.Typ[types.String])
	local := types.NewPointer(named("example.com/m/p", "p", "local", types.NewStruct(nil, nil)))
	literal := types.NewStruct([]*types.Var{
		types.NewField(token.NoPos, nil, "N", types.Typ[types.Int], false),
		types.NewField(token.NoPos, nil, "S", types.Typ[types.String], false),
	}, []string{`json:"n"`, ""})
	basic := func(kinds ...types.BasicKind) []types.Type {
		var ts []types.Type
		for _, k := range kinds {
			ts = append(ts, types.Typ[k])
		}
		return ts
	}
	fn := func(name string, deps ...types.Type) *Func {
		return &Func{Name: name, Params: append([]types.Type{ctx}, deps...)}
	}
	seven := basic(types.Int, types.Int8, types.Int16, types.Int32, types.Int64, types.Uint, types.String)
	return &Package{
		Path:        "example.com/m/p",
		Name:        "p",
		Declared:    map[string]bool{"CreateUsers": true, "DropUsers": true, "NoDeps": true, "Seven": true, "flamingock_Seven": true, "Literal": true, "sql": true, "local": true},
		Fingerprint: "sha256:f1",
		Changes: []*Change{
			{
				ID: "create-users", Order: "0001", Author: "alice", Description: `the "users" table`, Target: "users-db",
				Transactional: true, Recovery: "manual", Checksum: "sha256:c1", File: "p/0001_create.go", Line: 13,
				Needs: []types.Type{tx, dialect}, Apply: fn("CreateUsers", tx, dialect), Rollback: fn("DropUsers", tx, dialect),
			},
			{ID: "no-deps", Order: "2", Recovery: "retry", Checksum: "sha256:c2", File: "p/later.go", Line: 5, Apply: fn("NoDeps")},
			{ID: "seven", Order: "3", Transactional: true, Recovery: "manual", Checksum: "sha256:c3", File: "p/later.go", Line: 9, Needs: seven, Apply: fn("Seven", seven...)},
			{ID: "literal", Order: "4", Transactional: true, Recovery: "manual", Checksum: "sha256:c4", File: "p/later.go", Line: 20, Needs: []types.Type{literal, local}, Apply: fn("Literal", literal, local)},
		},
	}
}

// pinnedOutput is the SHA-256 of emit(pinnedModel()).
const pinnedOutput = "b51a2d4f804aafb520c622c7b5a7cfe5776e1aa676e2c862e5e66d3723053c4b"

// TestEmitVersionPinned fails when the emitter's output changes, to make
// sure emitVersion changes with it: a file written by the earlier layout
// carries a digest that the new generator must not accept as current.
func TestEmitVersionPinned(t *testing.T) {
	out, err := emit(pinnedModel())
	if err != nil {
		t.Fatal(err)
	}
	assertGofmt(t, "pinned", out)
	sum := sha256.Sum256(out)
	if got := hex.EncodeToString(sum[:]); got != pinnedOutput {
		t.Errorf("the generated layout changed (sha256 %s, pinned %s):\n"+
			"if that is intended, increase emitVersion in digest.go and set pinnedOutput to the new value.\nOutput:\n%s",
			got, pinnedOutput, out)
	}
	for _, want := range []string{
		"\tsql1 \"database/sql\"\n\tsql2 \"example.com/m/other/sql\"\n", // "sql" is a package-level name of p
		"\t\tApply:         flamingock.Func2[*sql1.Tx, sql2.Dialect](CreateUsers),\n",
		"\t\tApply:         flamingock.Func0(NoDeps),\n",
		"\t\tApply:         flamingock_func7_1(Seven),\n",
		"type flamingock_func7_1 func(context.Context, int, int8, int16, int32, int64, uint, string) error\n",
		"\t\tApply: flamingock.Func2[struct {\n\t\t\tN int `json:\"n\"`\n",
		"var flamingock_changes = [...]flamingock.Change{\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestDigestLine(t *testing.T) {
	p := pinnedModel()
	out, err := emit(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(out), "\n", 4)
	if lines[0] != Header || !strings.HasPrefix(lines[1], digestPrefix) || lines[2] != "" || lines[3][:len("package p")] != "package p" {
		t.Fatalf("file does not start with header, digest line, blank line, package clause:\n%s", strings.Join(lines[:3], "\n"))
	}
	if !isCurrent(out, modelDigest(p)) {
		t.Fatal("isCurrent rejects the file emit just wrote")
	}

	edited := bytes.Replace(out, []byte(`"alice"`), []byte(`"mallory"`), 1)
	if isCurrent(edited, modelDigest(p)) {
		t.Error("isCurrent accepts a file edited below the digest line")
	}
	p.Changes[0].Author = "bob"
	if isCurrent(out, modelDigest(p)) {
		t.Error("isCurrent accepts a file after the model changed")
	}
	p.Changes[0].Author = "alice"
	p.Declared["flamingock_changes"] = true // the table's name would change
	if isCurrent(out, modelDigest(p)) {
		t.Error("isCurrent accepts a file after the package's declared names changed")
	}
	for _, broken := range []string{"", Header, Header + "\n", Header + "\n" + digestPrefix + "zz\n", strings.Replace(string(out), Header, "// Code generated by hand.", 1)} {
		if isCurrent([]byte(broken), modelDigest(pinnedModel())) {
			t.Errorf("isCurrent accepts %q", broken)
		}
	}
}

// TestUnchangedFileIsKept runs Generate over a current file, one edited by
// hand below the digest line, and one whose change was edited: only the
// first may be taken as it is.
func TestUnchangedFileIsKept(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"store/store.go":         storeSrc,
		"changes/0001_create.go": changesV1,
	})
	path := filepath.Join(dir, "changes", OutputName)
	if code, _, stderr := runIn(t, dir, "./..."); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	written, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: dir, Patterns: []string{"./..."}}

	res, err := Generate(context.Background(), cfg)
	if err != nil || len(res.Diagnostics) > 0 || len(res.Files) != 1 {
		t.Fatalf("Generate: %v %v", err, res)
	}
	if f := res.Files[0]; f.Stale() || !bytes.Equal(f.Want, written) {
		t.Fatalf("a current file is stale or differs:\n%s", Diff(res))
	}

	// Edited below the digest line: the digest no longer matches, the file
	// is rendered, and the edit shows as a difference.
	write(t, path, bytes.Replace(written, []byte(`"alice"`), []byte(`"mallory"`), 1))
	res, err = Generate(context.Background(), cfg)
	if err != nil || len(res.Diagnostics) > 0 {
		t.Fatalf("Generate: %v %v", err, res)
	}
	if f := res.Files[0]; !f.Stale() || !bytes.Equal(f.Want, written) {
		t.Fatalf("a hand-edited file is not restored:\n%s", Diff(res))
	}

	// The change edited: the model differs.
	write(t, path, written)
	write(t, filepath.Join(dir, "changes", "0001_create.go"), []byte(strings.Replace(changesV1, "author=alice", "author=bob", 1)))
	res, err = Generate(context.Background(), cfg)
	if err != nil || len(res.Diagnostics) > 0 {
		t.Fatalf("Generate: %v %v", err, res)
	}
	if f := res.Files[0]; !f.Stale() || !strings.Contains(string(f.Want), `Author:        "bob",`) {
		t.Fatalf("an edited change does not make the file stale:\n%s", Diff(res))
	}
	if formatted, err := format.Source(res.Files[0].Want); err != nil || !bytes.Equal(formatted, res.Files[0].Want) {
		t.Errorf("regenerated file is not gofmt'd: %v", err)
	}
}

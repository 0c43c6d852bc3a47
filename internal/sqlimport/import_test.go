package sqlimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flamingock/flamingock-go/sqlscript"
)

// statements returns what the runtime would execute for a converted file:
// its apply and rollback sections split in d.
func statements(t *testing.T, content string, d sqlscript.Dialect) (up, down []string) {
	t.Helper()
	f, ok, errs := sqlscript.ParseChangeFile(content)
	if !ok || errs != nil {
		t.Fatalf("converted file is no change file (%v):\n%s", errs, content)
	}
	split := func(sec sqlscript.Section) []string {
		stmts, err := sqlscript.Split(sec.SQL, d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range stmts {
			out = append(out, s.SQL)
		}
		return out
	}
	up = split(f.Apply)
	if f.Rollback != nil {
		down = split(*f.Rollback)
	}
	return up, down
}

func TestImportGoose(t *testing.T) {
	fsys := fstest.MapFS{
		"00001_users.sql": {Data: []byte(`-- +goose Up
CREATE TABLE users (id int, note text);
INSERT INTO users VALUES (1, 'semi; colon
and a line');
-- +goose StatementBegin
CREATE FUNCTION touch() RETURNS trigger AS $$
BEGIN
  NEW.note := 'x';
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION touch();
DROP TABLE users;
`)},
		"00002_index.sql":   {Data: []byte("-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY users_id ON users (id);\n")},
		"00003_backfill.go": {Data: []byte("package migrations\n")},
		"00004_env.sql":     {Data: []byte("-- +goose ENVSUB ON\n-- +goose Up\nSELECT 1;\n")},
		"README.md":         {Data: []byte("not a migration")},
	}
	files, problems, err := Import(fsys, Options{From: Goose, Dialect: sqlscript.PostgreSQL, Author: "ana", Target: "app-db"})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 || !strings.Contains(problems[0].String(), "00003_backfill.go: a goose Go migration") || !strings.Contains(problems[1].String(), "00004_env.sql:1: goose annotation") {
		t.Fatalf("problems %v", problems)
	}
	if len(files) != 2 || files[0].Name != "00001_users.sql" || files[1].Name != "00002_index.sql" {
		t.Fatalf("files %+v", files)
	}
	if !strings.Contains(files[0].Content, "-- flamingock:change id=00001_users author=ana target=app-db description=\"imported from goose 00001_users.sql\"\n") {
		t.Errorf("header of 00001:\n%s", files[0].Content)
	}
	up, down := statements(t, files[0].Content, sqlscript.PostgreSQL)
	if len(up) != 3 || !strings.HasPrefix(up[2], "CREATE FUNCTION touch()") || !strings.HasSuffix(up[2], "LANGUAGE plpgsql") || up[1] != "INSERT INTO users VALUES (1, 'semi; colon\nand a line')" {
		t.Errorf("up statements %q", up)
	}
	if len(down) != 2 || down[0] != "DROP FUNCTION touch()" || down[1] != "DROP TABLE users" {
		t.Errorf("down statements %q", down)
	}
	if !strings.Contains(files[1].Content, "transactional=false") {
		t.Errorf("NO TRANSACTION lost:\n%s", files[1].Content)
	}
}

// A goose file whose multi-statement body is not in a StatementBegin/End
// block runs differently under goose (which cuts at each line ending in
// ";") and is refused, not converted.
func TestImportGooseRefusesWhatWouldRunDifferently(t *testing.T) {
	fsys := fstest.MapFS{"1_f.sql": {Data: []byte("-- +goose Up\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n")}}
	files, problems, err := Import(fsys, Options{From: Goose, Dialect: sqlscript.PostgreSQL})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 || len(problems) != 1 || !strings.Contains(problems[0].Msg, "statement 1 of the section at line 1 is split differently") {
		t.Fatalf("files %d, problems %v", len(files), problems)
	}
}

func TestImportMigrate(t *testing.T) {
	fsys := fstest.MapFS{
		"1_init.up.sql":     {Data: []byte("CREATE TABLE a (id int);\nCREATE TABLE b (id int);")},
		"1_init.down.sql":   {Data: []byte("DROP TABLE b;\nDROP TABLE a;\n")},
		"2_more.up.sql":     {Data: []byte("ALTER TABLE a ADD note text;\n")},
		"3_orphan.down.sql": {Data: []byte("DROP TABLE c;\n")},
	}
	files, problems, err := Import(fsys, Options{From: GolangMigrate, Dialect: sqlscript.PostgreSQL})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].File != "3_orphan.down.sql" {
		t.Fatalf("problems %v", problems)
	}
	if len(files) != 2 || files[0].Name != "1_init.sql" || files[1].Name != "2_more.sql" {
		t.Fatalf("files %+v", files)
	}
	up, down := statements(t, files[0].Content, sqlscript.PostgreSQL)
	if strings.Join(up, "|") != "CREATE TABLE a (id int)|CREATE TABLE b (id int)" || strings.Join(down, "|") != "DROP TABLE b|DROP TABLE a" {
		t.Errorf("statements %q %q", up, down)
	}
	if _, down := statements(t, files[1].Content, sqlscript.PostgreSQL); down != nil {
		t.Errorf("a migration without a down file got a rollback %q", down)
	}
}

// moduleDir returns the directory of a module version, downloaded through
// the module proxy when it is not in the cache yet: the peers' own test
// data is read from there. Without the go command or the proxy the test
// skips, except under CI=true, where it fails.
func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	var info struct{ Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &info)
	}
	if err == nil && info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil || info.Dir == "" {
		msg := fmt.Sprintf("cannot get %s (go mod download %s: %v)", mod, mod, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return info.Dir
}

// TestGooseOwnParserCases converts goose's own parser test inputs and
// requires the statements flamingock will execute to be goose's golden
// statements, one by one.
func TestGooseOwnParserCases(t *testing.T) {
	root := filepath.Join(moduleDir(t, "github.com/pressly/goose/v3@v3.30.1"), "internal/sqlparser/testdata/valid-up")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	converted := 0
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(root, d.Name(), "input.sql"))
			if err != nil {
				t.Fatal(err)
			}
			goldens, _ := filepath.Glob(filepath.Join(root, d.Name(), "*.up.golden.sql"))
			files, problems, err := Import(fstest.MapFS{"00001_case.sql": {Data: src}}, Options{From: Goose, Dialect: sqlscript.PostgreSQL})
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) > 0 {
				t.Logf("not converted (reported): %v", problems)
				return
			}
			converted++
			// A goose block may become several statements, run one by one:
			// the SQL, in order, must be goose's.
			up, _ := statements(t, files[0].Content, sqlscript.PostgreSQL)
			var got, want []string
			for _, s := range up {
				got = append(got, squash(s))
			}
			for _, g := range goldens {
				b, _ := os.ReadFile(g)
				want = append(want, squash(string(b)))
			}
			if got, want := strings.Join(got, ";"), strings.Join(want, ";"); got != want {
				t.Errorf("the converted file runs\n%s\ngoose runs\n%s", got, want)
			}
		})
	}
	if converted < len(dirs)/2 {
		t.Errorf("converted %d of %d of goose's cases", converted, len(dirs))
	}
}

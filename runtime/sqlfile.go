package runtime

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"

	"github.com/flamingock/flamingock-go/sqlscript"
	"github.com/flamingock/flamingock-go/targets"
)

// SQLFile is the [Func] of a change written as an SQL file: the generator
// embeds the file and registers it as
//
//	Apply: flamingock.SQLFile{FS: &flamingock_sql, Name: "0003_add_status.sql", Path: "migrations/0003_add_status.sql"}
//
// Call reads the file, splits the section it runs (the statements after
// the change directive, or after the rollback marker when Rollback is set)
// in the dialect of the [sqlscript.Execer] the change's target provides,
// and executes the statements in order on it: inside the target's
// transaction for a transactional change, on its connection pool
// otherwise. The split happens at run time because only the target knows
// its dialect.
type SQLFile struct {
	FS   fs.FS
	Name string // the file's name in FS
	// Path is the file relative to the module root, as errors name it.
	Path string
	// Rollback selects the file's rollback section.
	Rollback bool
}

// Call implements [Func].
func (f SQLFile) Call(ctx context.Context, deps *targets.Deps) error {
	sec, err := f.section()
	if err != nil {
		return err
	}
	ex, err := targets.Resolve[sqlscript.Execer](deps)
	if err != nil {
		return fmt.Errorf("%s: %w (SQL-file changes run on SQL targets: targets/sqltarget, targets/pgtarget)", f.Path, err)
	}
	return sqlscript.Run(ctx, ex, f.Path, sec)
}

// Needs implements [Func]: an SQL-file change needs the target's
// [sqlscript.Execer].
func (SQLFile) Needs() []reflect.Type {
	return []reflect.Type{TypeOf[sqlscript.Execer]()}
}

// Statements returns the statements the change would execute in dialect
// d, for a plan.
func (f SQLFile) Statements(d sqlscript.Dialect) ([]sqlscript.Statement, error) {
	sec, err := f.section()
	if err != nil {
		return nil, err
	}
	stmts, err := sqlscript.Split(sec.SQL, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	for i := range stmts {
		stmts[i].Line += sec.Line - 1
	}
	return stmts, nil
}

// section reads the file and returns the section this Func runs.
func (f SQLFile) section() (sqlscript.Section, error) {
	if f.FS == nil {
		return sqlscript.Section{}, fmt.Errorf("%s: SQLFile has no file system", f.Path)
	}
	src, err := fs.ReadFile(f.FS, f.Name)
	if err != nil {
		return sqlscript.Section{}, fmt.Errorf("%s: %w", f.Path, err)
	}
	cf, ok, errs := sqlscript.ParseChangeFile(string(src))
	if len(errs) > 0 {
		return sqlscript.Section{}, fmt.Errorf("%s:%w", f.Path, errs[0])
	}
	if !ok {
		return sqlscript.Section{}, fmt.Errorf("%s: the file declares no change (no -- flamingock:change line in its header)", f.Path)
	}
	if !f.Rollback {
		return cf.Apply, nil
	}
	if cf.Rollback == nil {
		return sqlscript.Section{}, fmt.Errorf("%s: the file has no rollback section (%s)", f.Path, sqlscript.RollbackMarker)
	}
	return *cf.Rollback, nil
}

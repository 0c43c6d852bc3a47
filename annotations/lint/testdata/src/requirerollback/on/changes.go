// want package:"flamingock ids create-users,seed-users,send-mail,rename-column,stale-ignore"

// Package on is checked with -require-rollback set: every change needs a
// rollback, transactional ones included.
package on

import (
	"context"
	"database/sql"
)

// want +2 `change "create-users": no rollback, and -require-rollback is set: Runner.Undo and the undo command refuse to undo CreateUsers without one; add a //flamingock:rollback create-users function, or declare that there is none with "//flamingocklint:ignore norollback"`
//
//flamingock:change id=create-users order=1
func CreateUsers(ctx context.Context, tx *sql.Tx) error { return nil }

// SeedUsers passes: it can be undone.
//
//flamingock:change id=seed-users order=2
func SeedUsers(ctx context.Context, tx *sql.Tx) error { return nil }

//flamingock:rollback seed-users
func UnseedUsers(ctx context.Context, tx *sql.Tx) error { return nil }

// A non-transactional change keeps its own message.
//
// want +2 `change "send-mail": transactional=false and no rollback: a failure halfway leaves SendMail partly applied`
//
//flamingock:change id=send-mail order=3 transactional=false
func SendMail(ctx context.Context) error { return nil }

// RenameColumn passes: its doc comment says it has no rollback.
//
//flamingock:change id=rename-column order=4
//flamingocklint:ignore norollback the old name is not read by anything
func RenameColumn(ctx context.Context, tx *sql.Tx) error { return nil }

// StaleIgnore has a rollback, so its ignore comment silences nothing.
//
//flamingock:change id=stale-ignore order=5
//flamingocklint:ignore norollback // want `//flamingocklint:ignore norollback silences nothing here; remove it`
func StaleIgnore(ctx context.Context, tx *sql.Tx) error { return nil }

//flamingock:rollback stale-ignore
func UndoStaleIgnore(ctx context.Context, tx *sql.Tx) error { return nil }

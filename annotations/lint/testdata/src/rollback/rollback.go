// want package:"flamingock ids create-users,seed-users"

// Package rollback has rollbacks that do not match a change.
package rollback

import (
	"context"
	"database/sql"
)

// want +2 `rollback of "unknown": no change with id "unknown" in package rollback; a rollback must be in the same package as its change`
//
//flamingock:rollback unknown
func UndoUnknown(ctx context.Context) error { return nil }

//flamingock:change id=create-users order=1
func CreateUsers(ctx context.Context, tx *sql.Tx) error { return nil }

//flamingock:rollback create-users
func DropUsers(ctx context.Context, tx *sql.Tx) error { return nil }

// want +2 `rollback of "create-users": DropUsersAgain is a second rollback of change "create-users"; DropUsers \(rollback.go:20:6\) already undoes it`
//
//flamingock:rollback create-users
func DropUsersAgain(ctx context.Context, tx *sql.Tx) error { return nil }

//flamingock:change id=seed-users order=2
func SeedUsers(ctx context.Context, tx *sql.Tx) error { return nil }

//flamingock:rollback seed-users
func UnseedUsers(ctx context.Context, db *sql.Conn) error { return nil } // want `rollback of "seed-users": UnseedUsers takes \(context.Context, \*sql.Conn\) but change SeedUsers takes \(context.Context, \*sql.Tx\); a rollback must take the same parameters as its change`

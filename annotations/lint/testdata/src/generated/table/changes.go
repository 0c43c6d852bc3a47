// want package:"flamingock ids create-users,backfill"

// Package table passes: its flamingock_gen.go, in the static-table layout,
// lists what the directives declare.
package table

import "context"

//flamingock:change id=create-users order=1 author=alice target=users-db description="the users table"
func CreateUsers(ctx context.Context) error { return nil }

//flamingock:rollback create-users
func DropUsers(ctx context.Context) error { return nil }

//flamingock:change id=backfill order=2 transactional=false recovery=retry
func Backfill(ctx context.Context) error { return nil }

//flamingock:rollback backfill
func UndoBackfill(ctx context.Context) error { return nil }

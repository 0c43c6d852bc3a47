// want package:"flamingock ids create-users,backfill,added,moved"

// Package stale has been edited since its flamingock_gen.go was generated.
package stale

import "context"

// want +2 `change "create-users": flamingock_gen.go is out of date: author is "bob" there but "alice" in the source; run flamingock-gen \(go generate\)` `flamingock_gen.go is out of date: it lists change "dropped", which package stale no longer declares`
//
//flamingock:change id=create-users order=1 author=alice target=users-db description="the users table"
func CreateUsers(ctx context.Context) error { return nil }

//flamingock:rollback create-users
func DropUsers(ctx context.Context) error { return nil }

// want +2 `change "backfill": flamingock_gen.go is out of date: order is "3" there but "2" in the source, rollback is unset there but "UndoBackfill" in the source`
//
//flamingock:change id=backfill order=2 transactional=false recovery=retry
func Backfill(ctx context.Context) error { return nil }

//flamingock:rollback backfill
func UndoBackfill(ctx context.Context) error { return nil }

// want +2 `change "added": flamingock_gen.go is out of date: it does not list this change`
//
//flamingock:change id=added order=4
func Added(ctx context.Context) error { return nil }

// OldApply no longer carries the directive, which moved to NewApply.
func OldApply(ctx context.Context) error { return nil }

// want +2 `change "moved": flamingock_gen.go is out of date: apply is "OldApply" there but "NewApply" in the source`
//
//flamingock:change id=moved order=5
func NewApply(ctx context.Context) error { return nil }

// want package:"flamingock ids create-users,seed-users,distinct"

// Package duplicate declares ids and orders twice.
package duplicate

import "context"

//flamingock:change id=create-users order=1
func CreateUsers(ctx context.Context) error { return nil }

// want +2 `change "create-users": duplicate change id: also declared at duplicate.go:8:21`
//
//flamingock:change id=create-users order=2
func CreateUsersAgain(ctx context.Context) error { return nil }

// want +2 `change "seed-users": order 001 collides with order 1 of change "create-users" at duplicate.go:8:37; orders within a package must differ`
//
//flamingock:change id=seed-users order=001
func SeedUsers(ctx context.Context) error { return nil }

// Distinct passes: its id and order are its own ("10" is not "1").
//
//flamingock:change id=distinct order=10
func Distinct(ctx context.Context) error { return nil }

// want package:"flamingock ids shared,base-only"

// Package base is a changes package that another changes package imports.
package base

import "context"

// want +2 `package base declares changes but has no flamingock_gen.go`
//
//flamingock:change id=shared order=1
func Shared(ctx context.Context) error { return nil }

//flamingock:change id=base-only order=2
func BaseOnly(ctx context.Context) error { return nil }

// want package:"flamingock ids first,top-level"

// Package placement has directives on things that are not top-level
// functions.
package placement

import "context"

type Migrator struct{}

// want +2 `change "on-method": //flamingock:change is on method \(\*Migrator\).Apply; changes and rollbacks must be top-level functions`
//
//flamingock:change id=on-method order=1
func (m *Migrator) Apply(ctx context.Context) error { return nil }

// want +2 `//flamingock:change is on a type declaration, not on a function`
//
//flamingock:change id=on-type order=2
type Change struct{}

// want +2 `//flamingock:rollback is on a var declaration, not on a function`
//
//flamingock:rollback on-type
var Undo = func(ctx context.Context) error { return nil }

func Body(ctx context.Context) error {
	// want +1 `//flamingock:change is inside a function body`
	//flamingock:change id=in-body order=3
	return nil
}

// want +1 `//flamingock:change is not attached to a declaration`
//flamingock:change id=floating order=4

func Floating(ctx context.Context) error { return nil }

// want +3 `change "second": //flamingock:change is the second directive on Twice \(the first is at placement.go:39:1\)`
//
//flamingock:change id=first order=5
//flamingock:change id=second order=6
func Twice(ctx context.Context) error { return nil }

// TopLevel passes: a directive in the doc comment of a top-level function.
//
//flamingock:change id=top-level order=7
func TopLevel(ctx context.Context) error { return nil }

// want package:"flamingock ids no-params,ctx-second,two-results,no-result,variadic,generic,good"

// Package signature has change and rollback functions of every wrong shape.
package signature

import "context"

//flamingock:change id=no-params order=1
func NoParams() error { return nil } // want `change "no-params": NoParams has no parameters; the first must be context.Context`

//flamingock:change id=ctx-second order=2
func CtxSecond(n int, ctx context.Context) error { return nil } // want `the first parameter of CtxSecond must be context.Context, not int`

//flamingock:change id=two-results order=3
func TwoResults(ctx context.Context) (int, error) { return 0, nil } // want `TwoResults must return exactly one result, of type error; it returns \(int, error\)`

//flamingock:change id=no-result order=4
func NoResult(ctx context.Context) {} // want `NoResult must return exactly one result, of type error; it returns nothing`

//flamingock:change id=variadic order=5
func Variadic(ctx context.Context, names ...string) error { return nil } // want `Variadic is variadic; a change function cannot take a ...string parameter`

//flamingock:change id=generic order=6
func Generic[T any](ctx context.Context, v T) error { return nil } // want `Generic has type parameters; a change function cannot be generic`

//flamingock:rollback generic
func UndoGeneric(ctx string) error { return nil } // want `rollback of "generic": the first parameter of UndoGeneric must be context.Context, not string`

// Good passes: func(context.Context, deps...) error.
//
//flamingock:change id=good order=7
func Good(ctx context.Context, db *Store) error { return nil }

//flamingock:rollback good
func UndoGood(ctx context.Context, db *Store) error { return nil }

type Store struct{}

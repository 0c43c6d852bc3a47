package runtime

import (
	"context"
	"reflect"

	"github.com/flamingock/flamingock-go/targets"
)

// Func is a change's apply or rollback function as the runtime calls it:
// Call resolves the function's parameters from deps by their static types
// and calls it; Needs lists those types, for the check that runs before
// anything is applied.
//
// The FuncN types adapt a user's function with N dependency parameters.
// They are types, not constructors: a generated registry converts the
// user's function, flamingock.Func1[*sql.Tx](CreateAccounts), which is a
// constant the compiler lays out as static data (no code runs when the
// registry is built), and which stops compiling when the function's
// signature no longer matches the type arguments it was generated with.
// Needs builds its reflect.Types only when asked, so a registry costs no
// reflection until a change is about to run or be validated. Functions
// with more parameters than the largest FuncN get an adapter type written
// out by the generator.
type Func interface {
	Call(ctx context.Context, deps *targets.Deps) error
	Needs() []reflect.Type
}

// ChangeFunc is a hand-written [Func] that resolves its own dependencies.
// It declares no needs; a [Change] built by hand lists them in its Needs
// field.
type ChangeFunc func(ctx context.Context, deps *targets.Deps) error

// Call calls f.
func (f ChangeFunc) Call(ctx context.Context, deps *targets.Deps) error { return f(ctx, deps) }

// Needs returns nil: a ChangeFunc's parameters are not known.
func (ChangeFunc) Needs() []reflect.Type { return nil }

// Func0 adapts a function that needs nothing but its context.
type Func0 func(context.Context) error

// Call calls f.
func (f Func0) Call(ctx context.Context, _ *targets.Deps) error { return f(ctx) }

// Needs returns nil.
func (Func0) Needs() []reflect.Type { return nil }

// Func1 adapts a function with 1 dependency parameter.
type Func1[A any] func(context.Context, A) error

// Call resolves the parameters from deps and calls f.
func (f Func1[A]) Call(ctx context.Context, deps *targets.Deps) error {
	p1, err := targets.Resolve[A](deps)
	if err != nil {
		return err
	}
	return f(ctx, p1)
}

// Needs returns the parameter types after the context, in order.
func (Func1[A]) Needs() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[A]()}
}

// Func2 adapts a function with 2 dependency parameters.
type Func2[A any, B any] func(context.Context, A, B) error

// Call resolves the parameters from deps and calls f.
func (f Func2[A, B]) Call(ctx context.Context, deps *targets.Deps) error {
	p1, err := targets.Resolve[A](deps)
	if err != nil {
		return err
	}
	p2, err := targets.Resolve[B](deps)
	if err != nil {
		return err
	}
	return f(ctx, p1, p2)
}

// Needs returns the parameter types after the context, in order.
func (Func2[A, B]) Needs() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}
}

// Func3 adapts a function with 3 dependency parameters.
type Func3[A any, B any, C any] func(context.Context, A, B, C) error

// Call resolves the parameters from deps and calls f.
func (f Func3[A, B, C]) Call(ctx context.Context, deps *targets.Deps) error {
	p1, err := targets.Resolve[A](deps)
	if err != nil {
		return err
	}
	p2, err := targets.Resolve[B](deps)
	if err != nil {
		return err
	}
	p3, err := targets.Resolve[C](deps)
	if err != nil {
		return err
	}
	return f(ctx, p1, p2, p3)
}

// Needs returns the parameter types after the context, in order.
func (Func3[A, B, C]) Needs() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()}
}

// Func4 adapts a function with 4 dependency parameters.
type Func4[A any, B any, C any, D any] func(context.Context, A, B, C, D) error

// Call resolves the parameters from deps and calls f.
func (f Func4[A, B, C, D]) Call(ctx context.Context, deps *targets.Deps) error {
	p1, err := targets.Resolve[A](deps)
	if err != nil {
		return err
	}
	p2, err := targets.Resolve[B](deps)
	if err != nil {
		return err
	}
	p3, err := targets.Resolve[C](deps)
	if err != nil {
		return err
	}
	p4, err := targets.Resolve[D](deps)
	if err != nil {
		return err
	}
	return f(ctx, p1, p2, p3, p4)
}

// Needs returns the parameter types after the context, in order.
func (Func4[A, B, C, D]) Needs() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C](), reflect.TypeFor[D]()}
}

// Func5 adapts a function with 5 dependency parameters.
type Func5[A any, B any, C any, D any, E any] func(context.Context, A, B, C, D, E) error

// Call resolves the parameters from deps and calls f.
func (f Func5[A, B, C, D, E]) Call(ctx context.Context, deps *targets.Deps) error {
	p1, err := targets.Resolve[A](deps)
	if err != nil {
		return err
	}
	p2, err := targets.Resolve[B](deps)
	if err != nil {
		return err
	}
	p3, err := targets.Resolve[C](deps)
	if err != nil {
		return err
	}
	p4, err := targets.Resolve[D](deps)
	if err != nil {
		return err
	}
	p5, err := targets.Resolve[E](deps)
	if err != nil {
		return err
	}
	return f(ctx, p1, p2, p3, p4, p5)
}

// Needs returns the parameter types after the context, in order.
func (Func5[A, B, C, D, E]) Needs() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C](), reflect.TypeFor[D](), reflect.TypeFor[E]()}
}

// Func6 adapts a function with 6 dependency parameters.
type Func6[A any, B any, C any, D any, E any, F any] func(context.Context, A, B, C, D, E, F) error

// Call resolves the parameters from deps and calls f.
func (f Func6[A, B, C, D, E, F]) Call(ctx context.Context, deps *targets.Deps) error {
	p1, err := targets.Resolve[A](deps)
	if err != nil {
		return err
	}
	p2, err := targets.Resolve[B](deps)
	if err != nil {
		return err
	}
	p3, err := targets.Resolve[C](deps)
	if err != nil {
		return err
	}
	p4, err := targets.Resolve[D](deps)
	if err != nil {
		return err
	}
	p5, err := targets.Resolve[E](deps)
	if err != nil {
		return err
	}
	p6, err := targets.Resolve[F](deps)
	if err != nil {
		return err
	}
	return f(ctx, p1, p2, p3, p4, p5, p6)
}

// Needs returns the parameter types after the context, in order.
func (Func6[A, B, C, D, E, F]) Needs() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C](), reflect.TypeFor[D](), reflect.TypeFor[E](), reflect.TypeFor[F]()}
}

package runtime

import "context"

// The FuncN helpers adapt a change or rollback function with N dependency
// parameters to a [ChangeFunc]: each parameter is resolved from the deps by
// its static type and the function is called directly with typed values, so
// no reflection runs when a change is applied. Generated registries call
// them with explicit type arguments, which also makes the registry stop
// compiling when a function's signature no longer matches it. Functions
// with more parameters than the largest helper get an adapter written out by
// the generator.

// Func0 adapts a function that needs nothing but its context.
func Func0(fn func(context.Context) error) ChangeFunc {
	return func(ctx context.Context, _ *Deps) error { return fn(ctx) }
}

// Func1 adapts a function with 1 dependency parameter.
func Func1[A any](fn func(context.Context, A) error) ChangeFunc {
	return func(ctx context.Context, deps *Deps) error {
		p1, err := Resolve[A](deps)
		if err != nil {
			return err
		}
		return fn(ctx, p1)
	}
}

// Func2 adapts a function with 2 dependency parameters.
func Func2[A any, B any](fn func(context.Context, A, B) error) ChangeFunc {
	return func(ctx context.Context, deps *Deps) error {
		p1, err := Resolve[A](deps)
		if err != nil {
			return err
		}
		p2, err := Resolve[B](deps)
		if err != nil {
			return err
		}
		return fn(ctx, p1, p2)
	}
}

// Func3 adapts a function with 3 dependency parameters.
func Func3[A any, B any, C any](fn func(context.Context, A, B, C) error) ChangeFunc {
	return func(ctx context.Context, deps *Deps) error {
		p1, err := Resolve[A](deps)
		if err != nil {
			return err
		}
		p2, err := Resolve[B](deps)
		if err != nil {
			return err
		}
		p3, err := Resolve[C](deps)
		if err != nil {
			return err
		}
		return fn(ctx, p1, p2, p3)
	}
}

// Func4 adapts a function with 4 dependency parameters.
func Func4[A any, B any, C any, D any](fn func(context.Context, A, B, C, D) error) ChangeFunc {
	return func(ctx context.Context, deps *Deps) error {
		p1, err := Resolve[A](deps)
		if err != nil {
			return err
		}
		p2, err := Resolve[B](deps)
		if err != nil {
			return err
		}
		p3, err := Resolve[C](deps)
		if err != nil {
			return err
		}
		p4, err := Resolve[D](deps)
		if err != nil {
			return err
		}
		return fn(ctx, p1, p2, p3, p4)
	}
}

// Func5 adapts a function with 5 dependency parameters.
func Func5[A any, B any, C any, D any, E any](fn func(context.Context, A, B, C, D, E) error) ChangeFunc {
	return func(ctx context.Context, deps *Deps) error {
		p1, err := Resolve[A](deps)
		if err != nil {
			return err
		}
		p2, err := Resolve[B](deps)
		if err != nil {
			return err
		}
		p3, err := Resolve[C](deps)
		if err != nil {
			return err
		}
		p4, err := Resolve[D](deps)
		if err != nil {
			return err
		}
		p5, err := Resolve[E](deps)
		if err != nil {
			return err
		}
		return fn(ctx, p1, p2, p3, p4, p5)
	}
}

// Func6 adapts a function with 6 dependency parameters.
func Func6[A any, B any, C any, D any, E any, F any](fn func(context.Context, A, B, C, D, E, F) error) ChangeFunc {
	return func(ctx context.Context, deps *Deps) error {
		p1, err := Resolve[A](deps)
		if err != nil {
			return err
		}
		p2, err := Resolve[B](deps)
		if err != nil {
			return err
		}
		p3, err := Resolve[C](deps)
		if err != nil {
			return err
		}
		p4, err := Resolve[D](deps)
		if err != nil {
			return err
		}
		p5, err := Resolve[E](deps)
		if err != nil {
			return err
		}
		p6, err := Resolve[F](deps)
		if err != nil {
			return err
		}
		return fn(ctx, p1, p2, p3, p4, p5, p6)
	}
}

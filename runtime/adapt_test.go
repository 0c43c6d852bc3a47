package runtime_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

type (
	depA struct{ n int }
	depB string
)

func TestFuncNResolvesByTypeAndCallsDirectly(t *testing.T) {
	d := targets.NewDeps(nil)
	targets.Provide(d, &depA{n: 7})
	targets.Provide(d, depB("b"))
	var got []any
	f := flamingock.Func2[*depA, depB](func(_ context.Context, a *depA, b depB) error { got = append(got, a.n, b); return nil })
	if err := f.Call(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 7 || got[1] != depB("b") {
		t.Fatalf("called with %v", got)
	}
	called := false
	f0 := flamingock.Func0(func(context.Context) error { called = true; return nil })
	if err := f0.Call(context.Background(), d); err != nil || !called {
		t.Fatalf("Func0: called=%v err=%v", called, err)
	}
}

func TestFuncNReportsTheMissingType(t *testing.T) {
	d := targets.NewDeps(nil)
	targets.Provide(d, &depA{})
	f := flamingock.Func3[*depA, depB, int](func(context.Context, *depA, depB, int) error { t.Fatal("called"); return nil })
	err := f.Call(context.Background(), d)
	var missing *targets.MissingDependencyError
	if !errors.As(err, &missing) || missing.Type != flamingock.TypeOf[depB]() {
		t.Fatalf("got %v", err)
	}
}

func TestChildDepsShadowParent(t *testing.T) {
	parent := targets.NewDeps(nil)
	targets.Provide(parent, depB("app"))
	targets.Provide(parent, 42)
	child := targets.NewDeps(parent)
	targets.Provide(child, depB("target"))
	b, _ := targets.Resolve[depB](child)
	n, _ := targets.Resolve[int](child)
	if b != "target" || n != 42 {
		t.Fatalf("resolved %q %d", b, n)
	}
	if !child.Has(flamingock.TypeOf[int]()) || child.Has(flamingock.TypeOf[string]()) {
		t.Fatal("Has is wrong")
	}
}

func TestFuncNNeedsAreTheTypeArguments(t *testing.T) {
	f := flamingock.Func3[*depA, depB, int](nil)
	got := f.Needs()
	want := []reflect.Type{flamingock.TypeOf[*depA](), flamingock.TypeOf[depB](), flamingock.TypeOf[int]()}
	if !slices.Equal(got, want) {
		t.Fatalf("Needs() = %v, want %v", got, want)
	}
	if n := flamingock.Func0(nil).Needs(); n != nil {
		t.Fatalf("Func0 needs %v", n)
	}
}

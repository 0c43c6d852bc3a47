package targets

import (
	"fmt"
	"reflect"
)

// Deps holds the values a change can ask for, keyed by their exact static
// type. A change's parameters are resolved first from what its target
// provides for this execution (say *sql.Tx inside a transaction), then from
// what the application registered with the runtime's WithDependency.
//
// Lookup is by type identity, not assignability: a change that wants an
// interface type receives a value registered under that interface type.
type Deps struct {
	values map[reflect.Type]any
	parent *Deps
}

// NewDeps returns an empty set whose lookups fall back to parent (which may
// be nil).
func NewDeps(parent *Deps) *Deps {
	return &Deps{values: map[reflect.Type]any{}, parent: parent}
}

// Provide registers v under the static type T, replacing an earlier value.
func Provide[T any](d *Deps, v T) {
	d.values[reflect.TypeFor[T]()] = v
}

// ProvideAs registers v under type t. v must be assignable to t. Targets use
// it when the type is only known at run time.
func (d *Deps) ProvideAs(t reflect.Type, v any) error {
	if v == nil || !reflect.TypeOf(v).AssignableTo(t) {
		return fmt.Errorf("dependency of type %T cannot be provided as %s", v, t)
	}
	d.values[t] = v
	return nil
}

// Types lists the types d and its parents provide, for messages about
// what is missing.
func (d *Deps) Types() []reflect.Type {
	var out []reflect.Type
	for s := d; s != nil; s = s.parent {
		for t := range s.values {
			out = append(out, t)
		}
	}
	return out
}

// Has reports whether a value of type t can be resolved.
func (d *Deps) Has(t reflect.Type) bool {
	for s := d; s != nil; s = s.parent {
		if _, ok := s.values[t]; ok {
			return true
		}
	}
	return false
}

// Resolve returns the value registered under T. Generated adapters call it
// once per parameter; the returned value is typed, so the user's function is
// called directly.
func Resolve[T any](d *Deps) (T, error) {
	t := reflect.TypeFor[T]()
	for s := d; s != nil; s = s.parent {
		if v, ok := s.values[t]; ok {
			return v.(T), nil
		}
	}
	var zero T
	return zero, &MissingDependencyError{Type: t}
}

// MissingDependencyError reports a parameter type nothing provides.
type MissingDependencyError struct {
	Type reflect.Type
}

func (e *MissingDependencyError) Error() string {
	return fmt.Sprintf("no dependency of type %s is registered (register one with WithDependency, or check the change's target)", e.Type)
}

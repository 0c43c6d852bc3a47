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
	// values is searched in order: a set holds a few values (what a
	// target provides for one execution, what the application
	// registered), for which a scan beats a map and allocates nothing.
	values []dep
	parent *Deps
	// inline backs values up to its length, so that the set every change
	// execution builds costs one allocation.
	inline [2]dep
}

type dep struct {
	t reflect.Type
	v any
}

// NewDeps returns an empty set whose lookups fall back to parent (which may
// be nil).
func NewDeps(parent *Deps) *Deps {
	d := &Deps{parent: parent}
	d.values = d.inline[:0]
	return d
}

// Provide registers v under the static type T, replacing an earlier value.
func Provide[T any](d *Deps, v T) {
	d.set(reflect.TypeFor[T](), v)
}

func (d *Deps) set(t reflect.Type, v any) {
	for i := range d.values {
		if d.values[i].t == t {
			d.values[i].v = v
			return
		}
	}
	d.values = append(d.values, dep{t, v})
}

// lookup finds t in d alone, not its parents.
func (d *Deps) lookup(t reflect.Type) (any, bool) {
	for i := range d.values {
		if d.values[i].t == t {
			return d.values[i].v, true
		}
	}
	return nil, false
}

// ProvideAs registers v under type t. v must be assignable to t. Targets use
// it when the type is only known at run time.
func (d *Deps) ProvideAs(t reflect.Type, v any) error {
	if v == nil || !reflect.TypeOf(v).AssignableTo(t) {
		return fmt.Errorf("dependency of type %T cannot be provided as %s", v, t)
	}
	d.set(t, v)
	return nil
}

// Types lists the types d and its parents provide, for messages about
// what is missing.
func (d *Deps) Types() []reflect.Type {
	var out []reflect.Type
	for s := d; s != nil; s = s.parent {
		for _, v := range s.values {
			out = append(out, v.t)
		}
	}
	return out
}

// Has reports whether a value of type t can be resolved.
func (d *Deps) Has(t reflect.Type) bool {
	for s := d; s != nil; s = s.parent {
		if _, ok := s.lookup(t); ok {
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
		if v, ok := s.lookup(t); ok {
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

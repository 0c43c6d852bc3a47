package runtime

import "reflect"

// TypeOf returns the reflect.Type of T. Generated code and hand-written
// changes use it to list a change's needs without constructing a value.
func TypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

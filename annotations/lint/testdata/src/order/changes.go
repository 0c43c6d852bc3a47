// Package order has changes whose order is missing or contradicts the
// file name.
package order

import "context"

// want +2 `change "no-order": no order: add order=<n> to the directive or name the file with an order prefix, as in 0001_changes.go`
//
//flamingock:change id=no-order
func NoOrder(ctx context.Context) error { return nil }

// Explicit passes: order= is enough.
//
//flamingock:change id=explicit order=1
func Explicit(ctx context.Context) error { return nil }

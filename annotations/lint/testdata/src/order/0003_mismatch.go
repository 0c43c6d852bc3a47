package order

import "context"

// want +2 `change "mismatch": order=4 differs from order 0003 in the file name 0003_mismatch.go; remove one or make them agree`
//
//flamingock:change id=mismatch order=4
func Mismatch(ctx context.Context) error { return nil }

// Agrees passes: order=3 and the file-name prefix 0003 compare equal.
//
//flamingock:change id=agrees order=3
func Agrees(ctx context.Context) error { return nil }

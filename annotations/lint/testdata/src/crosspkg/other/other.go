// want package:"flamingock ids shared"

// Package other reuses an id of package base without importing it: facts
// cannot see that, so the analyzer stays quiet and flamingock-gen, which
// sees the whole invocation, reports it.
package other

import "context"

// Shared is a duplicate of base's "shared" that only the generator sees.
//
// want +2 `package other declares changes but has no flamingock_gen.go`
//
//flamingock:change id=shared order=1
func Shared(ctx context.Context) error { return nil }

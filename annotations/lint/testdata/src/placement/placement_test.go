package placement

import "context"

// want +2 `change "in-test": //flamingock:change is in a _test.go file, which flamingock-gen does not read`
//
//flamingock:change id=in-test order=8
func InTest(ctx context.Context) error { return nil }

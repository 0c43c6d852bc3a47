package order // want package:"flamingock ids from-name,mismatch,agrees,no-order,explicit"

import "context"

// FromName passes: its order, 0002, comes from the file name.
//
//flamingock:change id=from-name
func FromName(ctx context.Context) error { return nil }

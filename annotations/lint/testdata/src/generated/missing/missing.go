// want package:"flamingock ids create-users,seed-users"

// Package missing declares a change but has no flamingock_gen.go.
package missing

import "context"

// want +2 `package missing declares changes but has no flamingock_gen.go; run flamingock-gen \(go generate\) in its directory`
//
//flamingock:change id=create-users order=1
func CreateUsers(ctx context.Context) error { return nil }

//flamingock:change id=seed-users order=2
func SeedUsers(ctx context.Context) error { return nil }

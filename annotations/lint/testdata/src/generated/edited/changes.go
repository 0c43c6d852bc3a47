// want package:"flamingock ids create-users"

// Package edited changed the body of a change after its flamingock_gen.go
// was generated (the recorded checksum is that of a body "return nil"):
// only the checksum tells.
package edited

import "context"

// want +2 `change "create-users": flamingock_gen.go is out of date: the checksum differs: the source of CreateUsers or of its rollback changed since it was generated; run flamingock-gen \(go generate\)`
//
//flamingock:change id=create-users order=1
func CreateUsers(ctx context.Context) error {
	_ = "a statement added after generation"
	return nil
}

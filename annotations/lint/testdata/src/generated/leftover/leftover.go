// Package leftover no longer declares changes, but its flamingock_gen.go
// is still there.
package leftover

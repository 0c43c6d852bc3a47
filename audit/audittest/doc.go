// Package audittest is the conformance suite for [audit.Store]
// implementations. Every store in this module runs it, and a third-party
// store should too:
//
//	func TestConformance(t *testing.T) {
//		audittest.Run(t, func(t *testing.T) audittest.Opener {
//			path := filepath.Join(t.TempDir(), "audit.db")
//			return func() (audit.Store, error) { return mystore.Open(ctx, path) }
//		})
//	}
//
// The suite asks for an [Opener] rather than a store because the properties
// that matter most (the lock, fencing, durability) are about several
// processes sharing one backing database: each call of the opener stands for
// another process, or the same process after a restart.
//
// [RunDamage] is the second half: what a store does when its backing data
// is damaged or edited behind its back (parts dropped, rows edited or
// garbled), through a [Damager] the store's test provides.
//
// Timing-dependent cases wait on the store's own clock, read through
// [audit.Store.LockInfo], instead of sleeping for a fixed time, so a slow
// machine makes the suite slower, not flaky.
package audittest

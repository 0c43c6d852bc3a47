package audit

import (
	"context"
	"crypto/sha256"
)

// AppliedDigest summarises the changes whose latest state is applied
// (APPLIED or MANUAL_MARKED_AS_APPLIED): how many there are, and the XOR of
// their [ChangeDigest]s. XOR makes it maintainable one append at a time:
// an append XORs out the change's previous digest if it was applied and XORs
// in the new one if the new state is applied.
//
// The runner compares a store's digest with its pipeline's to decide, from
// one small read, that nothing is pending. Equal digests mean the same set
// of (change id, checksum) pairs is applied, but for a 2^-128 chance; a
// digest that differs only sends the runner to the full snapshot, so a
// store's digest can cost performance when wrong, never correctness.
type AppliedDigest struct {
	Count int64
	Sum   [16]byte
}

// ChangeDigest is the digest of one applied change: the first 16 bytes of
// SHA-256 over its id, a zero byte, and its checksum.
func ChangeDigest(changeID, checksum string) [16]byte {
	var buf [256]byte // ids and checksums are short: no allocation
	in := append(append(append(buf[:0], changeID...), 0), checksum...)
	sum := sha256.Sum256(in)
	return [16]byte(sum[:16])
}

// Add records one more applied change.
func (d *AppliedDigest) Add(h [16]byte) {
	d.Count++
	d.xor(h)
}

// Remove records that a change counted by Add is no longer applied.
func (d *AppliedDigest) Remove(h [16]byte) {
	d.Count--
	d.xor(h)
}

func (d *AppliedDigest) xor(h [16]byte) {
	for i := range d.Sum {
		d.Sum[i] ^= h[i]
	}
}

// IsAppliedState reports whether s counts as applied.
func IsAppliedState(s State) bool { return s == Applied || s == ManualMarkedAsApplied }

// DigestStore is implemented by stores that keep an [AppliedDigest]
// updated atomically with every append. The runner's up-to-date check then
// reads one row (or document) whatever the number of changes, instead of
// the snapshot.
type DigestStore interface {
	Store
	AppliedDigest(ctx context.Context) (AppliedDigest, error)
}

package audit_test

import (
	"testing"

	"github.com/flamingock/flamingock-go/audit"
)

func TestAppliedDigestIsOrderFreeAndReversible(t *testing.T) {
	a, b, c := audit.ChangeDigest("a", "sha256:1"), audit.ChangeDigest("b", "sha256:2"), audit.ChangeDigest("c", "sha256:3")
	var x, y audit.AppliedDigest
	x.Add(a)
	x.Add(b)
	x.Add(c)
	y.Add(c)
	y.Add(a)
	y.Add(b)
	if x != y {
		t.Fatal("digest depends on order")
	}
	y.Remove(b)
	if x == y || y.Count != 2 {
		t.Fatal("removing a change did not change the digest")
	}
	y.Add(b)
	if x != y {
		t.Fatal("remove then add did not restore the digest")
	}
	// Swapping checksums between two changes must change the digest.
	var swapped audit.AppliedDigest
	swapped.Add(audit.ChangeDigest("a", "sha256:2"))
	swapped.Add(audit.ChangeDigest("b", "sha256:1"))
	swapped.Add(c)
	if swapped == x {
		t.Fatal("swapped checksums give the same digest")
	}
	if audit.ChangeDigest("ab", "c") == audit.ChangeDigest("a", "bc") {
		t.Fatal("id and checksum are not separated")
	}
}

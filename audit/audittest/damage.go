package audittest

import (
	"context"
	"errors"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
)

// Part names one part of a store's backing data, for [Damager.Drop].
type Part string

// The parts of an audit trail. SQL stores keep each in a table; other stores
// map them to their own analogue, or answer [ErrUnsupported].
const (
	// PartHistory is the append-only history: the record.
	PartHistory Part = "history"
	// PartLatest is the latest state of every change, derived from the
	// history.
	PartLatest Part = "latest"
	// PartDigest is the applied digest, derived from the latest states.
	PartDigest Part = "digest"
	// PartLock is the lock lease and its fencing token.
	PartLock Part = "lock"
)

// ErrUnsupported is what a [Damager] returns for damage its store cannot
// suffer (it has no such part, or no stored form to edit). The case is
// skipped with the reason the error gives.
var ErrUnsupported = errors.New("audittest: this damage does not apply to the store")

// Damager breaks a backend's stored audit trail from outside the store, the
// way an operator's hand-written SQL, a bad migration or a partial restore
// can. Every method works on the backing data of the [Opener] it comes with.
type Damager interface {
	// Drop removes one part of the trail (DROP TABLE, or the analogue).
	Drop(p Part) error
	// SetRaw overwrites the stored text of field ("state" or "metadata",
	// the latter as JSON) in every stored copy of changeID's entries: its
	// history rows and its latest-state row.
	SetRaw(changeID, field, raw string) error
	// DeleteHistory deletes every history row of changeID by hand and
	// leaves the derived parts as they are.
	DeleteHistory(changeID string) error
	// SetLatestState overwrites the state in changeID's latest-state row
	// only, leaving the history as it is.
	SetLatestState(changeID, state string) error
	// InsertLatest inserts a latest-state row for changeID, which has
	// none, copied from fromChangeID's latest-state row with the change
	// id and the state replaced: a row no history entry is behind.
	InsertLatest(changeID, fromChangeID, state string) error
	// RaiseLatest overwrites the state in changeID's latest-state row and
	// raises its seq by 1000, the way the store's own upsert moves a row,
	// leaving the history as it is.
	RaiseLatest(changeID, state string) error
}

// DamageBackend is one case's backing data: how to open stores on it and how
// to damage it.
type DamageBackend struct {
	Open Opener
	// Damage may be nil when the store has no stored form to damage (an
	// in-memory store): every case is then skipped.
	Damage Damager
}

// RunDamage runs the damage cases: what a store does when its backing data
// was damaged or edited behind its back. The history is the record; the
// latest states and the digest are derived from it. The cases check that a
// store rebuilds a derived part that is missing or was edited instead of
// starting it empty, refuses to open when the history is gone but derived
// parts remain ([audit.ErrHistoryMissing]), never hands out a sequence
// number or fencing token that went backwards, keeps its digest in step
// with its snapshot after hand edits (so that a runner's one-read up-to-date
// check agrees with what the snapshot shows), and reads a garbled entry as
// what it holds (an unknown state, a [audit.Entry.ReadError]) instead of
// failing every read.
//
// newBackend is called once per case, so each case starts from empty
// backing data.
func RunDamage(t *testing.T, newBackend func(t *testing.T) DamageBackend) {
	cases := []struct {
		name string
		run  func(t *testing.T, b DamageBackend)
	}{
		{"HistoryDroppedRefusesToOpen", testHistoryDropped},
		{"LatestDroppedIsRebuilt", testLatestDropped},
		{"DigestDroppedIsRebuilt", testDigestDropped},
		{"LockDroppedKeepsTokensGrowing", testLockDropped},
		{"HistoryDeletedByHand", testHistoryDeletedByHand},
		{"LatestEditedByHand", testLatestEditedByHand},
		{"LatestRowInsertedByHand", testLatestInsertedByHand},
		{"LatestSeqRaisedByHand", testLatestRaisedByHand},
		{"UnknownState", testUnknownState},
		{"MetadataOfTheWrongType", testBadMetadata},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBackend(t)
			if b.Damage == nil {
				t.Skip("the store keeps no stored form that can be damaged from outside")
			}
			c.run(t, b)
		})
	}
}

// damage runs one damaging call and skips the case when the store does not
// have what it damages.
func damage(t *testing.T, what string, err error) {
	t.Helper()
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("%s: %v", what, err)
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// trail appends a small trail under a long lease and returns the lease and
// the entries: a STARTED then APPLIED, b FAILED, c APPLIED (the last).
func trail(t *testing.T, s audit.Store) (audit.Lease, []audit.Entry) {
	t.Helper()
	l := acquire(t, s, "a", longTTL)
	var out []audit.Entry
	for _, x := range []struct {
		id string
		st audit.State
	}{{"a", audit.Started}, {"a", audit.Applied}, {"b", audit.Failed}, {"c", audit.Applied}} {
		e := SampleEntry(x.id, x.st, l.Token)
		e.Recovery = "manual"
		e.Checksum = "cs-" + x.id
		out = append(out, mustAppend(t, s, e))
	}
	return l, out
}

// latestOf is the snapshot the entries make, by definition.
func latestOf(entries []audit.Entry) audit.Snapshot {
	snap := audit.Snapshot{}
	for _, e := range entries {
		if prev, ok := snap[e.ChangeID]; !ok || prev.Seq < e.Seq {
			snap[e.ChangeID] = e
		}
	}
	return snap
}

// checkSnapshot fails unless the store's snapshot is exactly want, and its
// digest (for a digest store) is the one the snapshot implies.
func checkSnapshot(t *testing.T, s audit.Store, want audit.Snapshot, step string) {
	t.Helper()
	got, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("%s: Snapshot: %v", step, err)
	}
	if len(got) != len(want) {
		t.Errorf("%s: snapshot has %d changes %v, want %d", step, len(got), keys(got), len(want))
	}
	for id, w := range want {
		if err := sameStored(w, got[id]); err != nil {
			t.Errorf("%s: snapshot of %s: %v", step, id, err)
		}
	}
	checkDigestMatches(t, s, got, step)
}

// checkDigestMatches fails when a digest store's digest is not the one snap
// implies: the runner's one-read check would then disagree with the
// snapshot.
func checkDigestMatches(t *testing.T, s audit.Store, snap audit.Snapshot, step string) {
	t.Helper()
	ds, ok := s.(audit.DigestStore)
	if !ok {
		return
	}
	d, err := ds.AppliedDigest(context.Background())
	if err != nil {
		t.Fatalf("%s: AppliedDigest: %v", step, err)
	}
	if want := digestOf(snap); d != want {
		t.Errorf("%s: digest counts %d applied changes (%x), the snapshot %d (%x)", step, d.Count, d.Sum, want.Count, want.Sum)
	}
}

func keys(snap audit.Snapshot) []string {
	var out []string
	for id := range snap {
		out = append(out, id)
	}
	return out
}

// appendAbove appends one more entry and checks its sequence number is above
// every earlier one and that the snapshot shows it.
func appendAbove(t *testing.T, s audit.Store, l audit.Lease, earlier []audit.Entry, id string, st audit.State) audit.Entry {
	t.Helper()
	e := SampleEntry(id, st, l.Token)
	e.Checksum = "cs-" + id
	got := mustAppend(t, s, e)
	for _, p := range earlier {
		if got.Seq <= p.Seq {
			t.Errorf("new entry got seq %d, not above the earlier entry %s %s with seq %d", got.Seq, p.ChangeID, p.State, p.Seq)
			break
		}
	}
	if err := sameStored(got, snapshot(t, s)[id]); err != nil {
		t.Errorf("the snapshot does not show the new entry for %s: %v", id, err)
	}
	return got
}

func testHistoryDropped(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	trail(t, s)
	damage(t, "drop the history", b.Damage.Drop(PartHistory))
	for i := range 2 { // the first refusal must not have created anything
		s2, err := b.Open()
		if err == nil {
			s2.Close()
			t.Fatalf("open %d after the history was dropped succeeded: the store would start an empty trail over the remaining parts", i+1)
		}
		if !errors.Is(err, audit.ErrHistoryMissing) {
			t.Fatalf("open %d after the history was dropped: got %v, want ErrHistoryMissing", i+1, err)
		}
	}
}

func testLatestDropped(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	l, entries := trail(t, s)
	damage(t, "drop the latest states", b.Damage.Drop(PartLatest))
	s2 := open(t, b.Open)
	checkSnapshot(t, s2, latestOf(entries), "after reopening")
	// b's FAILED is still the latest: the next run must see an issue, and
	// its next entry must replace it.
	entries = append(entries, appendAbove(t, s2, l, entries, "b", audit.Applied))
	checkSnapshot(t, s2, latestOf(entries), "after the next append")
	checkSnapshot(t, open(t, b.Open), latestOf(entries), "through another instance")
}

func testDigestDropped(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	l, entries := trail(t, s)
	damage(t, "drop the digest", b.Damage.Drop(PartDigest))
	s2 := open(t, b.Open)
	checkSnapshot(t, s2, latestOf(entries), "after reopening")
	entries = append(entries, appendAbove(t, s2, l, entries, "b", audit.Applied))
	checkSnapshot(t, s2, latestOf(entries), "after the next append")
}

func testLockDropped(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	l, entries := trail(t, s)
	if err := s.ReleaseLock(context.Background(), l); err != nil {
		t.Fatalf("ReleaseLock: %v", err)
	}
	damage(t, "drop the lock", b.Damage.Drop(PartLock))
	s2 := open(t, b.Open)
	l2 := acquire(t, s2, "b", longTTL)
	if l2.Token <= l.Token {
		t.Errorf("fencing token after the lock was dropped is %d, not above the %d the trail's entries carry", l2.Token, l.Token)
	}
	entries = append(entries, appendAbove(t, s2, l2, entries, "d", audit.Applied))
	checkSnapshot(t, s2, latestOf(entries), "after the lock was dropped")
}

func testHistoryDeletedByHand(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	l, entries := trail(t, s)
	// The history is the record: with c's rows deleted, c never happened,
	// and the instance that is already open must see that too.
	damage(t, "delete c's history", b.Damage.DeleteHistory("c"))
	kept := entries[:3]
	checkSnapshot(t, s, latestOf(kept), "after c's history was deleted")
	// c's entry had the highest sequence number; the next must not reuse
	// it.
	kept = append(kept, appendAbove(t, s, l, entries, "d", audit.Applied))
	checkSnapshot(t, open(t, b.Open), latestOf(kept), "through another instance")

	damage(t, "delete a's history", b.Damage.DeleteHistory("a"))
	kept = kept[2:]
	checkSnapshot(t, s, latestOf(kept), "after a's history was deleted")
}

func testLatestEditedByHand(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	l, entries := trail(t, s)
	// An edit of the derived state does not change the record: the store
	// goes back to what the history says, and its digest with it.
	damage(t, "set a's latest state", b.Damage.SetLatestState("a", string(audit.Failed)))
	checkSnapshot(t, s, latestOf(entries), "after a's latest state was edited")
	damage(t, "set c's latest state", b.Damage.SetLatestState("c", string(audit.ManualMarkedAsRolledBack)))
	checkSnapshot(t, open(t, b.Open), latestOf(entries), "after c's latest state was edited, another instance")
	entries = append(entries, appendAbove(t, s, l, entries, "c", audit.RolledBack))
	checkSnapshot(t, s, latestOf(entries), "after the next append")
}

func testLatestInsertedByHand(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	l, entries := trail(t, s)
	damage(t, "delete a's history", b.Damage.DeleteHistory("a"))
	kept := entries[2:]
	checkSnapshot(t, s, latestOf(kept), "after a's history was deleted")
	// A latest state with no history entry behind it is not a record that
	// a ran: the store goes back to what the history says, so that a is
	// pending for the runner and for status alike.
	damage(t, "insert a latest state for a", b.Damage.InsertLatest("a", "c", string(audit.Applied)))
	checkSnapshot(t, s, latestOf(kept), "after a latest state of a was inserted")
	checkSnapshot(t, open(t, b.Open), latestOf(kept), "after a latest state of a was inserted, another instance")
	kept = append(kept, appendAbove(t, s, l, entries, "a", audit.Applied))
	checkSnapshot(t, s, latestOf(kept), "after a was appended again")
}

func testLatestRaisedByHand(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	l, entries := trail(t, s)
	// Moving a row to a larger seq is what the store's own upsert does;
	// moved to a seq no history entry has, it is a hand edit all the same.
	damage(t, "raise b's latest state", b.Damage.RaiseLatest("b", string(audit.Applied)))
	checkSnapshot(t, s, latestOf(entries), "after b's latest state was raised")
	checkSnapshot(t, open(t, b.Open), latestOf(entries), "after b's latest state was raised, another instance")
	entries = append(entries, appendAbove(t, s, l, entries, "b", audit.Applied))
	checkSnapshot(t, s, latestOf(entries), "after the next append")
}

func testUnknownState(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	_, entries := trail(t, s)
	damage(t, "garble a's state", b.Damage.SetRaw("a", "state", "APPLIED_MAYBE"))
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot with one garbled state: %v", err)
	}
	if got := snap["a"].State; got != "APPLIED_MAYBE" {
		t.Errorf("a's state reads %q, want the stored text %q kept as it is (an unknown state needs a human; it is neither applied nor not applied)", got, "APPLIED_MAYBE")
	}
	for _, e := range entries[2:] {
		if err := sameStored(e, snap[e.ChangeID]); err != nil {
			t.Errorf("the undamaged change %s: %v", e.ChangeID, err)
		}
	}
	checkDigestMatches(t, s, snap, "with a garbled state")
	h, err := s.History(context.Background(), audit.HistoryQuery{})
	if err != nil {
		t.Fatalf("History with one garbled state: %v", err)
	}
	if len(h) != len(entries) {
		t.Errorf("history has %d entries, want %d", len(h), len(entries))
	}
}

func testBadMetadata(t *testing.T, b DamageBackend) {
	s := open(t, b.Open)
	_, entries := trail(t, s)
	damage(t, "give a numeric metadata", b.Damage.SetRaw("a", "metadata", `{"service": "orders", "attempt": 2}`))
	damage(t, "give b a metadata array", b.Damage.SetRaw("b", "metadata", `["not", "an", "object"]`))
	for _, read := range []struct {
		name string
		get  func() (map[string]audit.Entry, error)
	}{
		{"Snapshot", func() (map[string]audit.Entry, error) { return s.Snapshot(context.Background()) }},
		{"History", func() (map[string]audit.Entry, error) {
			h, err := s.History(context.Background(), audit.HistoryQuery{})
			return latestOf(h), err
		}},
	} {
		got, err := read.get()
		if err != nil {
			t.Fatalf("%s with damaged metadata: %v", read.name, err)
		}
		a, bb, c := got["a"], got["b"], got["c"]
		if a.ReadError == "" || a.Metadata["service"] != "orders" || a.Metadata["attempt"] != "2" {
			t.Errorf("%s: a reads with metadata %v and ReadError %q; want what it holds, the number as its JSON text, and a ReadError", read.name, a.Metadata, a.ReadError)
		}
		if bb.ReadError == "" || bb.State != audit.Failed {
			t.Errorf("%s: b reads as %s with ReadError %q; want its state and a ReadError", read.name, bb.State, bb.ReadError)
		}
		if err := sameStored(entries[3], c); err != nil || c.ReadError != "" {
			t.Errorf("%s: the undamaged change c: %v (ReadError %q)", read.name, err, c.ReadError)
		}
	}
	checkDigestMatches(t, s, snapshot(t, s), "with damaged metadata")
}

package audittest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
)

// The digest cases run only for stores that implement audit.DigestStore.
// They check the store's AppliedDigest against the definition: the digest
// computed from the snapshot.

// digestStore returns s as an audit.DigestStore, or skips the case.
func digestStore(t *testing.T, s audit.Store) audit.DigestStore {
	t.Helper()
	ds, ok := s.(audit.DigestStore)
	if !ok {
		t.Skip("the store does not implement audit.DigestStore")
	}
	return ds
}

// digestOf is the applied digest of a snapshot, by definition: every change
// whose latest state is applied, with the checksum of that entry.
func digestOf(snap audit.Snapshot) audit.AppliedDigest {
	var d audit.AppliedDigest
	for id, e := range snap {
		if audit.IsAppliedState(e.State) {
			d.Add(audit.ChangeDigest(id, e.Checksum))
		}
	}
	return d
}

// digestOfPairs is the digest of the given change id -> checksum pairs, all
// applied.
func digestOfPairs(applied map[string]string) audit.AppliedDigest {
	var d audit.AppliedDigest
	for id, cs := range applied {
		d.Add(audit.ChangeDigest(id, cs))
	}
	return d
}

// checkDigest fails the test if the store's digest differs from the one
// computed from its snapshot, or from want when want is not nil.
func checkDigest(t *testing.T, ds audit.DigestStore, want map[string]string, step string) {
	t.Helper()
	got, err := ds.AppliedDigest(context.Background())
	if err != nil {
		t.Fatalf("%s: AppliedDigest: %v", step, err)
	}
	if fromSnap := digestOf(snapshot(t, ds)); got != fromSnap {
		t.Errorf("%s: store digest %+v, snapshot says %+v", step, got, fromSnap)
	}
	if want != nil {
		if w := digestOfPairs(want); got != w {
			t.Errorf("%s: store digest %+v (count %d), want %d applied %v (%+v)", step, got, got.Count, len(want), want, w)
		}
	}
}

func testDigestFollowsAppends(t *testing.T, o Opener) {
	s1 := digestStore(t, open(t, o))
	s2 := open(t, o).(audit.DigestStore)
	l := acquire(t, s1, "a", longTTL)
	checkDigest(t, s1, map[string]string{}, "empty store")

	entry := func(id string, st audit.State, checksum string) audit.Entry {
		e := SampleEntry(id, st, l.Token)
		e.Checksum = checksum
		return e
	}
	applied := map[string]string{}
	steps := []struct {
		by    audit.Store
		e     audit.Entry
		apply func() // what the step does to the applied set
	}{
		{s1, entry("a", audit.Applied, "a1"), func() { applied["a"] = "a1" }},
		{s1, entry("b", audit.Started, "b1"), nil},
		{s2, entry("b", audit.Failed, "b1"), nil},
		{s1, entry("b", audit.Applied, "b1"), func() { applied["b"] = "b1" }},
		{s2, entry("c", audit.ManualMarkedAsApplied, "c1"), func() { applied["c"] = "c1" }},
		{s1, entry("a", audit.RolledBack, "a1"), func() { delete(applied, "a") }},
		{s1, entry("a", audit.Applied, "a1"), func() { applied["a"] = "a1" }},
		{s2, entry("a", audit.Applied, "a1"), nil}, // the same again: nothing changes
		{s1, entry("d", audit.Applied, "d1"), func() { applied["d"] = "d1" }},
		{s2, entry("d", audit.Applied, "d2"), func() { applied["d"] = "d2" }}, // checksum change
		{s1, entry("c", audit.ManualMarkedAsRolledBack, "c1"), func() { delete(applied, "c") }},
		{s2, entry("e", audit.RollbackFailed, "e1"), nil},
		{s1, entry("e", audit.ManualMarkedAsApplied, "e2"), func() { applied["e"] = "e2" }},
		{s2, entry("b", audit.Started, "b2"), func() { delete(applied, "b") }},
	}
	for i, st := range steps {
		mustAppend(t, st.by, st.e)
		if st.apply != nil {
			st.apply()
		}
		checkDigest(t, s1, applied, fmt.Sprintf("step %d (%s %s %s)", i, st.e.ChangeID, st.e.State, st.e.Checksum))
		checkDigest(t, s2, applied, fmt.Sprintf("step %d through the other instance", i))
	}

	// A fenced append changes nothing.
	if err := s1.ReleaseLock(context.Background(), l); err != nil {
		t.Fatalf("ReleaseLock: %v", err)
	}
	expectFenced(t, s1, entry("f", audit.Applied, "f1"), "append after release")
	checkDigest(t, s1, applied, "after a fenced append")

	// The digest is data, not instance state.
	if err := s1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkDigest(t, open(t, o).(audit.DigestStore), applied, "after reopening")
}

func testDigestConcurrentAppends(t *testing.T, o Opener) {
	const goroutines, perGoroutine, changes = 8, 20, 5
	first := digestStore(t, open(t, o))
	stores := []audit.DigestStore{first, open(t, o).(audit.DigestStore)}
	l := acquire(t, first, "a", longTTL)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[g%len(stores)]
			<-start
			for i := 0; i < perGoroutine; i++ {
				// Goroutines share change ids, so appends race on the
				// latest entry that each one's digest update replaces.
				e := SampleEntry(fmt.Sprintf("change-%d", (g+i)%changes), audit.States[(g*3+i)%len(audit.States)], l.Token)
				e.Checksum = fmt.Sprintf("cs-%d", (g+i)%3)
				if _, err := s.Append(context.Background(), e); err != nil {
					t.Errorf("goroutine %d append %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if n := len(snapshot(t, first)); n != changes {
		t.Fatalf("snapshot has %d changes, want %d", n, changes)
	}
	for i, s := range stores {
		checkDigest(t, s, nil, fmt.Sprintf("after concurrent appends, instance %d", i))
	}
}

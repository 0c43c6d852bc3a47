package audittest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

// Opener opens a new, independent store instance on the backing data that
// the suite's current backend set up. Instances opened by one Opener must see
// each other's writes and share one lock, as processes sharing a database do.
type Opener func() (audit.Store, error)

// ShortTTL is the lease the suite uses when it needs a lease to expire. It
// is short to keep the suite fast and long enough that a slow store still
// answers within it.
const ShortTTL = 300 * time.Millisecond

// longTTL is for leases that must not expire while a case runs.
const longTTL = 10 * time.Minute

// clockTolerance bounds how far the store's clock may be from the test
// host's clock for "CreatedAt is now" checks.
const clockTolerance = time.Minute

// Run runs every conformance case against the store. newBackend is called
// once per case, so each case starts from empty backing data; it should
// register its own cleanup with t.Cleanup. Stores opened by the suite are
// closed by the suite.
func Run(t *testing.T, newBackend func(t *testing.T) Opener) {
	cases := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"AppendThenSnapshot", testAppendThenSnapshot},
		{"SnapshotPicksLatest", testSnapshotPicksLatest},
		{"ReturnedEntriesAreCopies", testReturnedEntriesAreCopies},
		{"HistoryFilters", testHistoryFilters},
		{"AppendValidates", testAppendValidates},
		{"LockAcquireHeldReleaseReacquire", testLockAcquireRelease},
		{"LockRejectsNonPositiveTTL", testLockRejectsNonPositiveTTL},
		{"LockRefreshExtends", testLockRefreshExtends},
		{"LockStaleLeaseIsLost", testLockStaleLeaseIsLost},
		{"LockExpiresByStoreClock", testLockExpiresByStoreClock},
		{"LockInfoWhenFree", testLockInfoWhenFree},
		{"ForceReleaseLock", testForceReleaseLock},
		{"FencingAfterTakeover", testFencingAfterTakeover},
		{"FencingExpiredLease", testFencingExpiredLease},
		{"FencingWithoutLock", testFencingWithoutLock},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"ConcurrentAcquire", testConcurrentAcquire},
		{"ReopenKeepsEverything", testReopenKeepsEverything},
		{"MethodsAfterClose", testMethodsAfterClose},
		{"DigestFollowsAppends", testDigestFollowsAppends},
		{"DigestConcurrentAppends", testDigestConcurrentAppends},
		{"UndoEntryRoundTrips", testUndoEntryRoundTrips},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newBackend(t))
		})
	}
}

// open opens a store and closes it when the test ends.
func open(t *testing.T, o Opener) audit.Store {
	t.Helper()
	s, err := o()
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, audit.ErrClosed) {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// Owner returns a distinct lock owner named after n.
func Owner(n string) audit.Owner {
	return audit.Owner{Host: "host-" + n, PID: 1000 + len(n), RunID: "run-" + n}
}

// SampleEntry returns an entry with every field set to a recognisable
// non-zero value, so that a store that drops or mangles a field fails a
// round-trip comparison. Seq and CreatedAt are set too, to values a store
// must ignore.
func SampleEntry(changeID string, state audit.State, token int64) audit.Entry {
	return audit.Entry{
		Seq:         987654,
		RunID:       "run-" + changeID,
		Stage:       "stage-one",
		ChangeID:    changeID,
		Author:      "alice",
		Order:       "0001",
		State:       state,
		TargetID:    "users-db",
		TxStrategy:  audit.TxSeparateWithMarker,
		Recovery:    "retry",
		Checksum:    "sha256:0123456789abcdef",
		CreatedAt:   time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC),
		Duration:    1234567891 * time.Nanosecond,
		Host:        "host.example",
		PID:         4242,
		ToolVersion: "v0.1.0-test",
		Actor:       "svc:orders",
		Reason:      "operator said so: \"quoted\" and 'single' and ünïcode",
		Error:       "boom\nline two; DROP TABLE x; --",
		Metadata:    map[string]string{"service": "orders", "version": "1.2.3", "empty": ""},
		Token:       token,
	}
}

func acquire(t *testing.T, s audit.Store, owner string, ttl time.Duration) audit.Lease {
	t.Helper()
	l, err := s.AcquireLock(context.Background(), Owner(owner), ttl)
	if err != nil {
		t.Fatalf("AcquireLock(%s): %v", owner, err)
	}
	return l
}

func mustAppend(t *testing.T, s audit.Store, e audit.Entry) audit.Entry {
	t.Helper()
	got, err := s.Append(context.Background(), e)
	if err != nil {
		t.Fatalf("Append(%s %s token %d): %v", e.ChangeID, e.State, e.Token, err)
	}
	return got
}

func history(t *testing.T, s audit.Store, q audit.HistoryQuery) []audit.Entry {
	t.Helper()
	h, err := s.History(context.Background(), q)
	if err != nil {
		t.Fatalf("History(%+v): %v", q, err)
	}
	return h
}

func snapshot(t *testing.T, s audit.Store) audit.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return snap
}

// withoutStoreFields strips what the store assigns and treats an empty metadata map
// like a nil one, so entries can be compared field by field.
func withoutStoreFields(e audit.Entry) audit.Entry {
	e.Seq = 0
	e.CreatedAt = time.Time{}
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	}
	return e
}

// sameStored reports how got differs from an entry as the store returned it
// on append (including Seq and CreatedAt).
func sameStored(want, got audit.Entry) error {
	if want.Seq != got.Seq {
		return fmt.Errorf("seq: want %d, got %d", want.Seq, got.Seq)
	}
	if !want.CreatedAt.Equal(got.CreatedAt) {
		return fmt.Errorf("created_at: want %v, got %v", want.CreatedAt, got.CreatedAt)
	}
	return sameFields(want, got)
}

// sameFields compares the caller-supplied fields of two entries.
func sameFields(want, got audit.Entry) error {
	w, g := withoutStoreFields(want), withoutStoreFields(got)
	if reflect.DeepEqual(w, g) {
		return nil
	}
	wv, gv := reflect.ValueOf(w), reflect.ValueOf(g)
	for i := 0; i < wv.NumField(); i++ {
		if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			return fmt.Errorf("field %s: want %#v, got %#v", wv.Type().Field(i).Name, wv.Field(i).Interface(), gv.Field(i).Interface())
		}
	}
	return fmt.Errorf("entries differ: want %+v, got %+v", w, g)
}

// waitStoreTime polls LockInfo until the store's clock satisfies done, and
// returns the last reading. It needs a stored lease to read the clock.
func waitStoreTime(t *testing.T, s audit.Store, done func(audit.LockInfo) bool) audit.LockInfo {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := s.LockInfo(context.Background())
		if err != nil {
			t.Fatalf("LockInfo while waiting on the store clock: %v", err)
		}
		if done(info) {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("store clock did not reach the awaited point within 30s (last reading %+v)", info)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// shorten refreshes l to expire after ShortTTL. Cases take a long lease,
// do what must happen while it is valid, then shorten it, so a slow machine
// cannot expire the lease before the case is ready.
func shorten(t *testing.T, s audit.Store, l audit.Lease) audit.Lease {
	t.Helper()
	r, err := s.RefreshLock(context.Background(), l, ShortTTL)
	if err != nil {
		t.Fatalf("RefreshLock to %v: %v", ShortTTL, err)
	}
	return r
}

// waitExpired waits until the store's clock says the stored lease expired.
func waitExpired(t *testing.T, s audit.Store) {
	t.Helper()
	waitStoreTime(t, s, func(i audit.LockInfo) bool { return !i.Valid() })
}

func testAppendThenSnapshot(t *testing.T, o Opener) {
	s := open(t, o)
	l := acquire(t, s, "a", longTTL)
	in := SampleEntry("create-users", audit.Started, l.Token)
	before := time.Now()
	first := mustAppend(t, s, in)
	after := time.Now()

	if first.Seq <= 0 {
		t.Errorf("Append assigned seq %d, want > 0", first.Seq)
	}
	if first.Seq == in.Seq {
		t.Errorf("Append kept the caller's seq %d", in.Seq)
	}
	if first.CreatedAt.Equal(in.CreatedAt) {
		t.Errorf("Append kept the caller's CreatedAt %v; it must come from the store clock", in.CreatedAt)
	}
	if first.CreatedAt.Before(before.Add(-clockTolerance)) || first.CreatedAt.After(after.Add(clockTolerance)) {
		t.Errorf("CreatedAt %v is not close to now (%v .. %v)", first.CreatedAt, before, after)
	}
	if err := sameFields(in, first); err != nil {
		t.Errorf("Append returned a different entry: %v", err)
	}

	snap := snapshot(t, s)
	if len(snap) != 1 {
		t.Fatalf("Snapshot has %d changes, want 1: %+v", len(snap), snap)
	}
	if err := sameStored(first, snap["create-users"]); err != nil {
		t.Errorf("Snapshot entry differs from the appended one: %v", err)
	}

	second := mustAppend(t, s, SampleEntry("create-users", audit.Applied, l.Token))
	if second.Seq <= first.Seq {
		t.Errorf("second append got seq %d, not above the first's %d", second.Seq, first.Seq)
	}
	if second.CreatedAt.Before(first.CreatedAt) {
		t.Errorf("second append's CreatedAt %v is before the first's %v", second.CreatedAt, first.CreatedAt)
	}
	if got := snapshot(t, s)["create-users"]; got.State != audit.Applied || got.Seq != second.Seq {
		t.Errorf("Snapshot after a second append: got %s seq %d, want APPLIED seq %d", got.State, got.Seq, second.Seq)
	}

	h := history(t, s, audit.HistoryQuery{})
	if len(h) != 2 {
		t.Fatalf("History has %d entries, want 2", len(h))
	}
	if err := sameStored(first, h[0]); err != nil {
		t.Errorf("History[0]: %v", err)
	}
	if err := sameStored(second, h[1]); err != nil {
		t.Errorf("History[1]: %v", err)
	}
}

func testSnapshotPicksLatest(t *testing.T, o Opener) {
	s := open(t, o)
	l := acquire(t, s, "a", longTTL)
	changes := []string{"c1", "c2", "c3", "c4", "c5"}
	latest := map[string]audit.Entry{}
	// Interleave changes and cycle states so the latest entry of a change is
	// neither its first, nor the last entry overall, nor the "highest" state.
	for round := 0; round < 8; round++ {
		for i, id := range changes {
			if round > 0 && (round+i)%3 == 0 {
				continue
			}
			e := SampleEntry(id, audit.States[(round+i)%len(audit.States)], l.Token)
			e.RunID = fmt.Sprintf("run-%d", round)
			latest[id] = mustAppend(t, s, e)
		}
	}
	snap := snapshot(t, s)
	if len(snap) != len(changes) {
		t.Fatalf("Snapshot has %d changes, want %d", len(snap), len(changes))
	}
	for id, want := range latest {
		if err := sameStored(want, snap[id]); err != nil {
			t.Errorf("Snapshot[%s]: %v", id, err)
		}
	}
}

func testReturnedEntriesAreCopies(t *testing.T, o Opener) {
	s := open(t, o)
	l := acquire(t, s, "a", longTTL)
	in := SampleEntry("c1", audit.Applied, l.Token)
	got := mustAppend(t, s, in)
	in.Metadata["service"] = "changed-by-caller-after-append"
	got.Metadata["service"] = "changed-in-returned-entry"
	snap := snapshot(t, s)
	e := snap["c1"]
	e.Metadata["service"] = "changed-in-snapshot"
	h := history(t, s, audit.HistoryQuery{})
	h[0].Metadata["version"] = "changed-in-history"

	want := SampleEntry("c1", audit.Applied, l.Token).Metadata
	if m := snapshot(t, s)["c1"].Metadata; !reflect.DeepEqual(m, want) {
		t.Errorf("stored metadata changed through a caller's map: %v, want %v", m, want)
	}
	if m := history(t, s, audit.HistoryQuery{})[0].Metadata; !reflect.DeepEqual(m, want) {
		t.Errorf("stored history metadata changed through a caller's map: %v, want %v", m, want)
	}
}

func testHistoryFilters(t *testing.T, o Opener) {
	s := open(t, o)
	l := acquire(t, s, "a", longTTL)
	var early []audit.Entry
	for i, st := range []audit.State{audit.Started, audit.Failed, audit.Started, audit.Applied} {
		id := []string{"a", "b"}[i%2]
		early = append(early, mustAppend(t, s, SampleEntry(id, st, l.Token)))
	}
	// Let the store's clock pass the last early entry, so Since can split
	// the history exactly.
	lastEarly := early[len(early)-1].CreatedAt
	since := waitStoreTime(t, s, func(i audit.LockInfo) bool { return i.Now.After(lastEarly) }).Now
	var late []audit.Entry
	for i, st := range []audit.State{audit.Applied, audit.RolledBack, audit.Applied} {
		id := []string{"a", "b", "c"}[i]
		late = append(late, mustAppend(t, s, SampleEntry(id, st, l.Token)))
	}
	all := append(append([]audit.Entry{}, early...), late...)

	pick := func(keep func(audit.Entry) bool) []audit.Entry {
		var out []audit.Entry
		for _, e := range all {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	cases := []struct {
		name string
		q    audit.HistoryQuery
		want []audit.Entry
	}{
		{"all", audit.HistoryQuery{}, all},
		{"change", audit.HistoryQuery{ChangeID: "a"}, pick(func(e audit.Entry) bool { return e.ChangeID == "a" })},
		{"unknown change", audit.HistoryQuery{ChangeID: "nope"}, nil},
		{"state", audit.HistoryQuery{State: audit.Applied}, pick(func(e audit.Entry) bool { return e.State == audit.Applied })},
		{"change and state", audit.HistoryQuery{ChangeID: "b", State: audit.Failed}, all[1:2]},
		{"since", audit.HistoryQuery{Since: since}, late},
		{"since and change", audit.HistoryQuery{Since: since, ChangeID: "a"}, late[:1]},
		{"limit", audit.HistoryQuery{Limit: 3}, all[:3]},
		{"limit above count", audit.HistoryQuery{Limit: 100}, all},
		{"change and limit", audit.HistoryQuery{ChangeID: "a", Limit: 2}, pick(func(e audit.Entry) bool { return e.ChangeID == "a" })[:2]},
	}
	for _, c := range cases {
		got := history(t, s, c.q)
		if len(got) != len(c.want) {
			t.Errorf("%s: History returned %d entries, want %d", c.name, len(got), len(c.want))
			continue
		}
		for i := range got {
			if err := sameStored(c.want[i], got[i]); err != nil {
				t.Errorf("%s: entry %d: %v", c.name, i, err)
			}
		}
	}
}

func testAppendValidates(t *testing.T, o Opener) {
	s := open(t, o)
	l := acquire(t, s, "a", longTTL)
	bad := map[string]func(*audit.Entry){
		"empty change id": func(e *audit.Entry) { e.ChangeID = "" },
		"invalid state":   func(e *audit.Entry) { e.State = "DONE" },
		"empty state":     func(e *audit.Entry) { e.State = "" },
		"empty run id":    func(e *audit.Entry) { e.RunID = "" },
		"zero token":      func(e *audit.Entry) { e.Token = 0 },
		"negative token":  func(e *audit.Entry) { e.Token = -l.Token },
	}
	for name, spoil := range bad {
		e := SampleEntry("c1", audit.Applied, l.Token)
		spoil(&e)
		if _, err := s.Append(context.Background(), e); err == nil {
			t.Errorf("%s: Append accepted %+v", name, e)
		}
	}
	if h := history(t, s, audit.HistoryQuery{}); len(h) != 0 {
		t.Errorf("rejected entries were written: %+v", h)
	}
}

func testLockAcquireRelease(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	before := time.Now()
	a := acquire(t, s, "a", longTTL)
	if a.Token <= 0 {
		t.Errorf("first lease token %d, want > 0", a.Token)
	}
	if a.Owner != Owner("a") {
		t.Errorf("lease owner %+v, want %+v", a.Owner, Owner("a"))
	}
	if d := a.ExpiresAt.Sub(a.AcquiredAt); d < longTTL-time.Second || d > longTTL+time.Second {
		t.Errorf("lease runs %v from acquisition to expiry, want about %v", d, longTTL)
	}
	if a.AcquiredAt.Before(before.Add(-clockTolerance)) || a.AcquiredAt.After(time.Now().Add(clockTolerance)) {
		t.Errorf("AcquiredAt %v is not close to now", a.AcquiredAt)
	}

	if _, err := s.AcquireLock(ctx, Owner("b"), longTTL); !errors.Is(err, audit.ErrLockHeld) {
		t.Fatalf("second owner's AcquireLock: got %v, want ErrLockHeld", err)
	}
	info, err := s.LockInfo(ctx)
	if err != nil {
		t.Fatalf("LockInfo: %v", err)
	}
	if info.Owner != a.Owner || info.Token != a.Token || !info.Valid() {
		t.Errorf("LockInfo %+v does not show the valid lease %+v", info, a)
	}
	if !info.ExpiresAt.Equal(a.ExpiresAt) || !info.AcquiredAt.Equal(a.AcquiredAt) {
		t.Errorf("LockInfo times %v..%v differ from the lease's %v..%v", info.AcquiredAt, info.ExpiresAt, a.AcquiredAt, a.ExpiresAt)
	}

	if err := s.ReleaseLock(ctx, a); err != nil {
		t.Fatalf("ReleaseLock: %v", err)
	}
	if _, err := s.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("LockInfo after release: got %v, want ErrNoLock", err)
	}
	b := acquire(t, s, "b", longTTL)
	if b.Token <= a.Token {
		t.Errorf("token after release and reacquire is %d, not above %d", b.Token, a.Token)
	}
	if err := s.ReleaseLock(ctx, a); !errors.Is(err, audit.ErrLockLost) {
		t.Errorf("releasing the old lease again: got %v, want ErrLockLost", err)
	}
	if info, err := s.LockInfo(ctx); err != nil || info.Token != b.Token {
		t.Errorf("releasing an old lease disturbed the current one: %+v, %v", info, err)
	}
}

func testLockRejectsNonPositiveTTL(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := s.AcquireLock(ctx, Owner("a"), ttl); err == nil {
			t.Errorf("AcquireLock with ttl %v succeeded", ttl)
		}
	}
	l := acquire(t, s, "a", longTTL)
	if _, err := s.RefreshLock(ctx, l, 0); err == nil {
		t.Errorf("RefreshLock with ttl 0 succeeded")
	}
}

func testLockRefreshExtends(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	l := acquire(t, s, "a", 5*time.Second)
	r, err := s.RefreshLock(ctx, l, longTTL)
	if err != nil {
		t.Fatalf("RefreshLock: %v", err)
	}
	if r.Token != l.Token || r.Owner != l.Owner {
		t.Errorf("refresh changed the lease's identity: %+v -> %+v", l, r)
	}
	if !r.ExpiresAt.After(l.ExpiresAt.Add(time.Minute)) {
		t.Errorf("refreshed expiry %v is not well after the original %v", r.ExpiresAt, l.ExpiresAt)
	}
	info, err := s.LockInfo(ctx)
	if err != nil {
		t.Fatalf("LockInfo: %v", err)
	}
	if !info.ExpiresAt.Equal(r.ExpiresAt) {
		t.Errorf("stored expiry %v, want the refreshed %v", info.ExpiresAt, r.ExpiresAt)
	}
	// A refreshed lease keeps fencing its writes.
	mustAppend(t, s, SampleEntry("c1", audit.Applied, r.Token))
}

func testLockStaleLeaseIsLost(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	a := acquire(t, s, "a", longTTL)
	if err := s.ForceReleaseLock(ctx); err != nil {
		t.Fatalf("ForceReleaseLock: %v", err)
	}
	if _, err := s.RefreshLock(ctx, a, longTTL); !errors.Is(err, audit.ErrLockLost) {
		t.Errorf("refresh of a force-released lease: got %v, want ErrLockLost", err)
	}
	b := acquire(t, s, "b", longTTL)
	if _, err := s.RefreshLock(ctx, a, longTTL); !errors.Is(err, audit.ErrLockLost) {
		t.Errorf("refresh of a superseded lease: got %v, want ErrLockLost", err)
	}
	if err := s.ReleaseLock(ctx, a); !errors.Is(err, audit.ErrLockLost) {
		t.Errorf("release of a superseded lease: got %v, want ErrLockLost", err)
	}
	info, err := s.LockInfo(ctx)
	if err != nil || info.Token != b.Token || info.Owner != b.Owner || !info.Valid() {
		t.Errorf("the current lease was disturbed by a stale one: %+v, %v", info, err)
	}

	// An expired lease that nobody took over cannot be refreshed either.
	if err := s.ReleaseLock(ctx, b); err != nil {
		t.Fatalf("ReleaseLock: %v", err)
	}
	c := acquire(t, s, "c", ShortTTL)
	waitExpired(t, s)
	if _, err := s.RefreshLock(ctx, c, longTTL); !errors.Is(err, audit.ErrLockLost) {
		t.Errorf("refresh of an expired lease: got %v, want ErrLockLost", err)
	}
}

func testLockExpiresByStoreClock(t *testing.T, o Opener) {
	s1, s2 := open(t, o), open(t, o)
	ctx := context.Background()
	a := acquire(t, s1, "a", longTTL)
	if _, err := s2.AcquireLock(ctx, Owner("b"), longTTL); !errors.Is(err, audit.ErrLockHeld) {
		t.Fatalf("AcquireLock before expiry: got %v, want ErrLockHeld", err)
	}
	a = shorten(t, s1, a)
	info := waitStoreTime(t, s2, func(i audit.LockInfo) bool { return !i.Valid() })
	if info.Token != a.Token || info.Owner != a.Owner {
		t.Errorf("LockInfo of an expired lease shows %+v, want the expired lease %+v", info, a)
	}
	b := acquire(t, s2, "b", longTTL)
	if b.Token <= a.Token {
		t.Errorf("token after expiry takeover is %d, not above %d", b.Token, a.Token)
	}
	if _, err := s1.RefreshLock(ctx, a, longTTL); !errors.Is(err, audit.ErrLockLost) {
		t.Errorf("refresh of the expired, taken-over lease: got %v, want ErrLockLost", err)
	}
}

func testLockInfoWhenFree(t *testing.T, o Opener) {
	s := open(t, o)
	if _, err := s.LockInfo(context.Background()); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("LockInfo on a fresh store: got %v, want ErrNoLock", err)
	}
}

func testForceReleaseLock(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	if err := s.ForceReleaseLock(ctx); err != nil {
		t.Errorf("ForceReleaseLock on a free lock: %v", err)
	}
	a := acquire(t, s, "a", longTTL)
	if err := s.ForceReleaseLock(ctx); err != nil {
		t.Fatalf("ForceReleaseLock: %v", err)
	}
	if _, err := s.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("LockInfo after ForceReleaseLock: got %v, want ErrNoLock", err)
	}
	b := acquire(t, s, "b", longTTL)
	if b.Token <= a.Token {
		t.Errorf("token after force release is %d, not above %d", b.Token, a.Token)
	}
	if _, err := s.Append(ctx, SampleEntry("c1", audit.Applied, a.Token)); !errors.Is(err, audit.ErrFenced) {
		t.Errorf("append with a force-released lease's token: got %v, want ErrFenced", err)
	}
}

// expectFenced appends e, expects ErrFenced, and checks nothing was written.
func expectFenced(t *testing.T, s audit.Store, e audit.Entry, why string) {
	t.Helper()
	before := history(t, s, audit.HistoryQuery{})
	snapBefore := snapshot(t, s)
	if got, err := s.Append(context.Background(), e); !errors.Is(err, audit.ErrFenced) {
		t.Errorf("%s: Append returned (%+v, %v), want ErrFenced", why, got, err)
	}
	after := history(t, s, audit.HistoryQuery{})
	if len(after) != len(before) {
		t.Errorf("%s: a fenced append changed the history from %d to %d entries", why, len(before), len(after))
	}
	if snapAfter := snapshot(t, s); !reflect.DeepEqual(snapAfter, snapBefore) {
		t.Errorf("%s: a fenced append changed the snapshot", why)
	}
}

func testFencingAfterTakeover(t *testing.T, o Opener) {
	s1, s2 := open(t, o), open(t, o)
	ctx := context.Background()
	a := acquire(t, s1, "a", longTTL)
	mustAppend(t, s1, SampleEntry("c1", audit.Started, a.Token))
	shorten(t, s1, a)
	waitExpired(t, s2)
	b := acquire(t, s2, "b", longTTL)
	expectFenced(t, s1, SampleEntry("c1", audit.Applied, a.Token), "old token after an expiry takeover")
	expectFenced(t, s2, SampleEntry("c2", audit.Applied, a.Token), "old token through the new owner's instance")
	expectFenced(t, s1, SampleEntry("c1", audit.Applied, b.Token+1), "a token from the future")
	mustAppend(t, s2, SampleEntry("c1", audit.Applied, b.Token))

	// Takeover after a force release fences the same way.
	if err := s2.ForceReleaseLock(ctx); err != nil {
		t.Fatalf("ForceReleaseLock: %v", err)
	}
	c := acquire(t, s1, "c", longTTL)
	expectFenced(t, s2, SampleEntry("c1", audit.Failed, b.Token), "old token after a force-release takeover")
	if got := mustAppend(t, s1, SampleEntry("c1", audit.RolledBack, c.Token)); got.Token != c.Token {
		t.Errorf("stored token %d, want %d", got.Token, c.Token)
	}
}

func testFencingExpiredLease(t *testing.T, o Opener) {
	s := open(t, o)
	a := acquire(t, s, "a", longTTL)
	mustAppend(t, s, SampleEntry("c1", audit.Started, a.Token))
	shorten(t, s, a)
	waitExpired(t, s)
	expectFenced(t, s, SampleEntry("c1", audit.Applied, a.Token), "token of an expired lease nobody took over")

	if err := s.ReleaseLock(context.Background(), a); err != nil && !errors.Is(err, audit.ErrLockLost) {
		t.Fatalf("ReleaseLock of an expired lease: %v", err)
	}
	expectFenced(t, s, SampleEntry("c1", audit.Applied, a.Token), "token of a released lease")
}

func testFencingWithoutLock(t *testing.T, o Opener) {
	s := open(t, o)
	for _, tok := range []int64{1, 2, 100} {
		expectFenced(t, s, SampleEntry("c1", audit.Applied, tok), fmt.Sprintf("token %d with no lock ever taken", tok))
	}
}

func testConcurrentAppenders(t *testing.T, o Opener) {
	const goroutines, perGoroutine = 8, 25
	stores := []audit.Store{open(t, o), open(t, o)}
	l := acquire(t, stores[0], "a", longTTL)
	var wg sync.WaitGroup
	start := make(chan struct{})
	last := make([]audit.Entry, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[g%len(stores)]
			<-start
			for i := 0; i < perGoroutine; i++ {
				e := SampleEntry(fmt.Sprintf("change-%d", g), audit.States[i%len(audit.States)], l.Token)
				e.RunID = fmt.Sprintf("run-%d-%d", g, i)
				got, err := s.Append(context.Background(), e)
				if err != nil {
					t.Errorf("goroutine %d append %d: %v", g, i, err)
					return
				}
				if got.Seq <= last[g].Seq {
					t.Errorf("goroutine %d: seq %d after its own %d", g, got.Seq, last[g].Seq)
				}
				last[g] = got
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	h := history(t, stores[1], audit.HistoryQuery{})
	if len(h) != goroutines*perGoroutine {
		t.Fatalf("history has %d entries, want %d", len(h), goroutines*perGoroutine)
	}
	seen := map[string]bool{}
	for i, e := range h {
		if i > 0 && e.Seq <= h[i-1].Seq {
			t.Fatalf("history seq not strictly increasing at %d: %d after %d", i, e.Seq, h[i-1].Seq)
		}
		if seen[e.RunID] {
			t.Errorf("entry %s stored twice", e.RunID)
		}
		seen[e.RunID] = true
	}
	snap := snapshot(t, stores[0])
	if len(snap) != goroutines {
		t.Fatalf("snapshot has %d changes, want %d", len(snap), goroutines)
	}
	for g, want := range last {
		if err := sameStored(want, snap[want.ChangeID]); err != nil {
			t.Errorf("snapshot of goroutine %d's change: %v", g, err)
		}
	}
}

func testConcurrentAcquire(t *testing.T, o Opener) {
	const instances = 4
	stores := make([]audit.Store, instances)
	for i := range stores {
		stores[i] = open(t, o)
	}
	errs := make([]error, instances)
	leases := make([]audit.Lease, instances)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			leases[i], errs[i] = stores[i].AcquireLock(context.Background(), Owner(fmt.Sprint(i)), longTTL)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("instances %d and %d both acquired the lock", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, audit.ErrLockHeld):
			t.Errorf("instance %d: AcquireLock: %v, want nil or ErrLockHeld", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no instance acquired the free lock")
	}
	info, err := stores[0].LockInfo(context.Background())
	if err != nil || info.Token != leases[winner].Token || info.Owner != leases[winner].Owner {
		t.Errorf("stored lease %+v (%v), want the winner's %+v", info, err, leases[winner])
	}
}

func testReopenKeepsEverything(t *testing.T, o Opener) {
	s1 := open(t, o)
	l := acquire(t, s1, "a", longTTL)
	var appended []audit.Entry
	for i, st := range []audit.State{audit.Started, audit.Applied, audit.Started} {
		appended = append(appended, mustAppend(t, s1, SampleEntry(fmt.Sprintf("c%d", i%2), st, l.Token)))
	}
	snapBefore := snapshot(t, s1)
	if err := s1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := open(t, o)
	h := history(t, s2, audit.HistoryQuery{})
	if len(h) != len(appended) {
		t.Fatalf("history after reopen has %d entries, want %d", len(h), len(appended))
	}
	for i := range h {
		if err := sameStored(appended[i], h[i]); err != nil {
			t.Errorf("history[%d] after reopen: %v", i, err)
		}
	}
	snapAfter := snapshot(t, s2)
	if len(snapAfter) != len(snapBefore) {
		t.Errorf("snapshot after reopen has %d changes, want %d", len(snapAfter), len(snapBefore))
	}
	for id, want := range snapBefore {
		if err := sameStored(want, snapAfter[id]); err != nil {
			t.Errorf("snapshot[%s] after reopen: %v", id, err)
		}
	}
	info, err := s2.LockInfo(context.Background())
	if err != nil || info.Token != l.Token || info.Owner != l.Owner {
		t.Errorf("lock after reopen: %+v, %v; want the lease %+v", info, err, l)
	}
	// The lease lives in the backing data, not in the closed instance.
	next := mustAppend(t, s2, SampleEntry("c9", audit.Applied, l.Token))
	if next.Seq <= appended[len(appended)-1].Seq {
		t.Errorf("seq after reopen %d is not above the last before reopen %d", next.Seq, appended[len(appended)-1].Seq)
	}
	if err := s2.ReleaseLock(context.Background(), l); err != nil {
		t.Errorf("release after reopen: %v", err)
	}
	if b := acquire(t, s2, "b", longTTL); b.Token <= l.Token {
		t.Errorf("token after reopen is %d, not above %d", b.Token, l.Token)
	}
}

func testMethodsAfterClose(t *testing.T, o Opener) {
	s, err := o()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx := context.Background()
	l, err := s.AcquireLock(ctx, Owner("a"), longTTL)
	if err != nil {
		t.Fatalf("AcquireLock: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := map[string]func() error{
		"Append": func() error {
			_, err := s.Append(ctx, SampleEntry("c1", audit.Applied, l.Token))
			return err
		},
		"Snapshot":         func() error { _, err := s.Snapshot(ctx); return err },
		"History":          func() error { _, err := s.History(ctx, audit.HistoryQuery{}); return err },
		"AcquireLock":      func() error { _, err := s.AcquireLock(ctx, Owner("b"), longTTL); return err },
		"RefreshLock":      func() error { _, err := s.RefreshLock(ctx, l, longTTL); return err },
		"ReleaseLock":      func() error { return s.ReleaseLock(ctx, l) },
		"LockInfo":         func() error { _, err := s.LockInfo(ctx); return err },
		"ForceReleaseLock": func() error { return s.ForceReleaseLock(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, audit.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil && !errors.Is(err, audit.ErrClosed) {
		t.Errorf("second Close: %v, want nil or ErrClosed", err)
	}
	// Closing one instance must not touch the backing data.
	s2 := open(t, o)
	if info, err := s2.LockInfo(ctx); err != nil || info.Token != l.Token {
		t.Errorf("lock after closing another instance: %+v, %v", info, err)
	}
}

// testUndoEntryRoundTrips: an undo's entries keep their reason, which is
// what tells them from a rollback after a failure, in the latest state and
// the history; an undone change leaves the applied digest.
func testUndoEntryRoundTrips(t *testing.T, o Opener) {
	s := open(t, o)
	l := acquire(t, s, "a", time.Minute)
	mustAppend(t, s, SampleEntry("c1", audit.Applied, l.Token))
	undo := SampleEntry("c1", audit.RolledBack, l.Token)
	undo.Reason, undo.Actor, undo.Error = audit.ReasonUndo+": release 42 reverted", "alice@host", ""
	mustAppend(t, s, undo)
	latest := snapshot(t, s)["c1"]
	if !latest.IsUndo() || latest.Reason != undo.Reason || latest.Actor != "alice@host" || latest.State != audit.RolledBack {
		t.Fatalf("latest after an undo: %+v", latest)
	}
	h := history(t, s, audit.HistoryQuery{ChangeID: "c1"})
	if len(h) != 2 || h[0].IsUndo() || !h[1].IsUndo() {
		t.Fatalf("history after an undo: %+v", h)
	}
	if ds, ok := s.(audit.DigestStore); ok {
		d, err := ds.AppliedDigest(context.Background())
		if err != nil || d.Count != 0 {
			t.Fatalf("applied digest after an undo: %+v, %v (want no change counted)", d, err)
		}
	}
}

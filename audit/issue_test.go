package audit_test

import (
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
)

func TestClassify(t *testing.T) {
	now := time.Now()
	live := &audit.LockInfo{Lease: audit.Lease{Owner: audit.Owner{RunID: "r1"}, Token: 7, ExpiresAt: now.Add(time.Minute)}, Now: now}
	expired := &audit.LockInfo{Lease: live.Lease, Now: now.Add(2 * time.Minute)}
	other := &audit.LockInfo{Lease: audit.Lease{Owner: audit.Owner{RunID: "r2"}, Token: 8, ExpiresAt: now.Add(time.Minute)}, Now: now}
	started := audit.Entry{State: audit.Started, RunID: "r1", Token: 7, TxStrategy: audit.NonTx, Recovery: "manual"}
	with := func(e audit.Entry, f func(*audit.Entry)) audit.Entry { f(&e); return e }
	cases := []struct {
		name string
		e    audit.Entry
		lock *audit.LockInfo
		want audit.Standing
	}{
		{"applied", with(started, func(e *audit.Entry) { e.State = audit.Applied }), nil, audit.StandingFinal},
		{"rolled back", with(started, func(e *audit.Entry) { e.State = audit.RolledBack }), nil, audit.StandingFinal},
		{"started, no lock", started, nil, audit.StandingIssue},
		{"started, its run holds the lock", started, live, audit.StandingRunning},
		{"started, its run's lease expired", started, expired, audit.StandingIssue},
		{"started, another run holds the lock", started, other, audit.StandingIssue},
		{"started, same run, other token", with(started, func(e *audit.Entry) { e.Token = 6 }), live, audit.StandingIssue},
		{"failed, its run holds the lock", with(started, func(e *audit.Entry) { e.State = audit.Failed }), live, audit.StandingIssue},
		{"started, marker protocol", with(started, func(e *audit.Entry) { e.TxStrategy = audit.TxSeparateWithMarker }), nil, audit.StandingRecoverable},
		{"failed, shared", with(started, func(e *audit.Entry) { e.State, e.TxStrategy = audit.Failed, audit.TxShared }), nil, audit.StandingRecoverable},
		{"rollback failed, retry", with(started, func(e *audit.Entry) { e.State, e.Recovery = audit.RollbackFailed, "retry" }), nil, audit.StandingRecoverable},
		{"unknown protocol", with(started, func(e *audit.Entry) { e.TxStrategy = "TX_FUTURE" }), nil, audit.StandingIssue},
		{"unknown state, shared", with(started, func(e *audit.Entry) { e.State, e.TxStrategy = "HALF_DONE", audit.TxShared }), nil, audit.StandingIssue},
		{"unknown state, retry", with(started, func(e *audit.Entry) { e.State, e.Recovery = "", "retry" }), live, audit.StandingIssue},
	}
	for _, c := range cases {
		if got := audit.Classify(c.e, c.lock); got != c.want {
			t.Errorf("%s: Classify = %s, want %s", c.name, got, c.want)
		}
		if got, want := audit.IsIssue(c.e), audit.Classify(c.e, nil) == audit.StandingIssue; got != want {
			t.Errorf("%s: IsIssue = %v, want %v", c.name, got, want)
		}
	}
}

package cli

import (
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cliout"
)

// SchemaVersion is the version of the --json documents. It changes only
// when a field is removed or changes meaning; new fields may appear within
// a version. docs/operations.md describes every document.
const SchemaVersion = 1

// entryJSON is an audit entry as scripts see it. Every field is always
// present (empty string, 0 or {} when unset), so scripts need no defaults.
type entryJSON struct {
	Seq         int64             `json:"seq"`
	ChangeID    string            `json:"change_id"`
	Stage       string            `json:"stage"`
	State       audit.State       `json:"state"`
	Issue       bool              `json:"issue"`
	CreatedAt   string            `json:"created_at"`
	DurationNS  int64             `json:"duration_ns"`
	RunID       string            `json:"run_id"`
	Host        string            `json:"host"`
	PID         int               `json:"pid"`
	Actor       string            `json:"actor"`
	Reason      string            `json:"reason"`
	Error       string            `json:"error"`
	Author      string            `json:"author"`
	Order       string            `json:"order"`
	TargetID    string            `json:"target_id"`
	TxStrategy  audit.TxStrategy  `json:"tx_strategy"`
	Recovery    string            `json:"recovery"`
	Checksum    string            `json:"checksum"`
	ToolVersion string            `json:"tool_version"`
	Token       int64             `json:"token"`
	Metadata    map[string]string `json:"metadata"`
}

// toEntryJSON converts e; v, when not nil, is the view e was read with,
// which says whether e is an issue (see [entryIsIssue]).
func toEntryJSON(e audit.Entry, v *audit.View, loc *time.Location) entryJSON {
	md := e.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return entryJSON{
		Seq: e.Seq, ChangeID: e.ChangeID, Stage: e.Stage, State: e.State, Issue: entryIsIssue(v, e),
		CreatedAt: cliout.JSONTime(e.CreatedAt, loc), DurationNS: int64(e.Duration),
		RunID: e.RunID, Host: e.Host, PID: e.PID, Actor: e.Actor, Reason: e.Reason, Error: e.Error,
		Author: e.Author, Order: e.Order, TargetID: e.TargetID, TxStrategy: e.TxStrategy, Recovery: e.Recovery,
		Checksum: e.Checksum, ToolVersion: e.ToolVersion, Token: e.Token, Metadata: md,
	}
}

func toEntriesJSON(es []audit.Entry, v *audit.View, loc *time.Location) []entryJSON {
	out := make([]entryJSON, 0, len(es))
	for _, e := range es {
		out = append(out, toEntryJSON(e, v, loc))
	}
	return out
}

type auditListJSON struct {
	SchemaVersion int         `json:"schema_version"`
	History       bool        `json:"history"`
	Entries       []entryJSON `json:"entries"`
}

type fixJSON struct {
	SchemaVersion int       `json:"schema_version"`
	Resolution    string    `json:"resolution"`
	Entry         entryJSON `json:"entry"`
}

// issueJSON is one issue in issue list and issue get.
type issueJSON struct {
	ChangeID      string      `json:"change_id"`
	Stage         string      `json:"stage"`
	State         audit.State `json:"state"`
	Summary       string      `json:"summary"`
	CreatedAt     string      `json:"created_at"`
	AgeSeconds    int64       `json:"age_seconds"`
	RunID         string      `json:"run_id"`
	Host          string      `json:"host"`
	PID           int         `json:"pid"`
	TargetID      string      `json:"target_id"`
	Error         string      `json:"error"`
	ApplyError    string      `json:"apply_error"`
	RollbackError string      `json:"rollback_error"`
}

type issueListJSON struct {
	SchemaVersion int         `json:"schema_version"`
	Issues        []issueJSON `json:"issues"`
	// Running are the changes whose STARTED entry belongs to the run that
	// holds the lock: being applied now, not issues.
	Running []issueJSON `json:"running"`
}

type resolutionJSON struct {
	Resolution string `json:"resolution"`
	// When is the finding in the target that calls for this resolution.
	When string `json:"when"`
	// Effect is what the next run does once it is recorded.
	Effect  string `json:"effect"`
	Command string `json:"command"`
}

type issueGetJSON struct {
	SchemaVersion int              `json:"schema_version"`
	Issue         issueJSON        `json:"issue"`
	WhatHappened  string           `json:"what_happened"`
	Check         []string         `json:"check"`
	Resolutions   []resolutionJSON `json:"resolutions"`
	History       []entryJSON      `json:"history"`
}

type ownerJSON struct {
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	RunID string `json:"run_id"`
}

type lockJSON struct {
	SchemaVersion int       `json:"schema_version"`
	Held          bool      `json:"held"`
	Valid         bool      `json:"valid"`
	Owner         ownerJSON `json:"owner"`
	Token         int64     `json:"token"`
	AcquiredAt    string    `json:"acquired_at"`
	ExpiresAt     string    `json:"expires_at"`
	StoreNow      string    `json:"store_now"`
	// RemainingNS is how long the lease stays valid by the store's clock;
	// negative once it has expired, 0 when no lock is held.
	RemainingNS int64 `json:"remaining_ns"`
}

func toLockJSON(info *audit.LockInfo, loc *time.Location) lockJSON {
	j := lockJSON{SchemaVersion: SchemaVersion}
	if info == nil {
		return j
	}
	j.Held, j.Valid = true, info.Valid()
	j.Owner = ownerJSON{Host: info.Owner.Host, PID: info.Owner.PID, RunID: info.Owner.RunID}
	j.Token = info.Token
	j.AcquiredAt = cliout.JSONTime(info.AcquiredAt, loc)
	j.ExpiresAt = cliout.JSONTime(info.ExpiresAt, loc)
	j.StoreNow = cliout.JSONTime(info.Now, loc)
	j.RemainingNS = int64(info.ExpiresAt.Sub(info.Now))
	return j
}

type lockReleaseJSON struct {
	SchemaVersion int      `json:"schema_version"`
	Released      bool     `json:"released"`
	WasValid      bool     `json:"was_valid"`
	Lock          lockJSON `json:"lock"`
}

// plannedJSON is one change in plan, status and validate.
type plannedJSON struct {
	Stage       string           `json:"stage"`
	ChangeID    string           `json:"change_id"`
	Status      string           `json:"status"`
	Action      string           `json:"action"`
	Reason      string           `json:"reason"`
	Protocol    audit.TxStrategy `json:"protocol"`
	Drift       bool             `json:"drift"`
	Source      string           `json:"source"`
	LatestState audit.State      `json:"latest_state"`
	LatestAt    string           `json:"latest_at"`
	LatestRunID string           `json:"latest_run_id"`
}

type planJSON struct {
	SchemaVersion int `json:"schema_version"`
	// UpToDate: every change is applied; nothing to run or resolve.
	UpToDate bool `json:"up_to_date"`
	// Pending: some change would run (Counts["pending"] > 0).
	Pending bool           `json:"pending"`
	Counts  map[string]int `json:"counts"`
	// Wiring: changes that would run but whose target or dependency is not
	// registered (apply would refuse to start).
	Wiring  []string      `json:"wiring"`
	Changes []plannedJSON `json:"changes"`
}

type validateJSON struct {
	SchemaVersion int      `json:"schema_version"`
	OK            bool     `json:"ok"`
	Pending       []string `json:"pending"`
	Issues        []string `json:"issues"`
	Blocked       []string `json:"blocked"`
	Drift         []string `json:"drift"`
	Wiring        []string `json:"wiring"`
}

type resultJSON struct {
	Stage      string           `json:"stage"`
	ChangeID   string           `json:"change_id"`
	Action     string           `json:"action"`
	Reason     string           `json:"reason"`
	State      audit.State      `json:"state"`
	Protocol   audit.TxStrategy `json:"protocol"`
	DurationNS int64            `json:"duration_ns"`
	Drift      bool             `json:"drift"`
	Error      string           `json:"error"`
}

type applyJSON struct {
	SchemaVersion int          `json:"schema_version"`
	RunID         string       `json:"run_id"`
	OK            bool         `json:"ok"`
	UpToDate      bool         `json:"up_to_date"`
	StartedAt     string       `json:"started_at"`
	FinishedAt    string       `json:"finished_at"`
	DurationNS    int64        `json:"duration_ns"`
	Changes       []resultJSON `json:"changes"`
	Error         string       `json:"error"`
}

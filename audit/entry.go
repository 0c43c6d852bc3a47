package audit

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// State is the outcome an [Entry] records for one attempt on a change. The
// words are the same as the Java original's so that operators moving between
// the two read the same trail.
type State string

// The states an entry can record.
const (
	// Started is written before a change that is not protected by a shared
	// transaction runs. Left as the latest state, it means the process died
	// (or lost its lease) while the change was running.
	Started State = "STARTED"
	// Applied means the change took effect.
	Applied State = "APPLIED"
	// Failed means the change returned an error and no rollback ran: a
	// transactional change was rolled back by its transaction, a
	// non-transactional one without a rollback function may be half done.
	Failed State = "FAILED"
	// RolledBack means the change failed and its rollback function succeeded.
	RolledBack State = "ROLLED_BACK"
	// RollbackFailed means the change failed and so did its rollback.
	RollbackFailed State = "ROLLBACK_FAILED"
	// ManualMarkedAsApplied is an operator's resolution: the change is in
	// place (fixed by hand) and must not run again.
	ManualMarkedAsApplied State = "MANUAL_MARKED_AS_APPLIED"
	// ManualMarkedAsRolledBack is an operator's resolution: the target was
	// restored by hand and the change may run again.
	ManualMarkedAsRolledBack State = "MANUAL_MARKED_AS_ROLLED_BACK"
)

// States lists every state in a stable order.
var States = []State{Started, Applied, Failed, RolledBack, RollbackFailed, ManualMarkedAsApplied, ManualMarkedAsRolledBack}

// Valid reports whether s is one of [States].
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// ParseState parses the name of a state, as written in the audit trail.
func ParseState(s string) (State, error) {
	if st := State(s); st.Valid() {
		return st, nil
	}
	return "", fmt.Errorf("audit: unknown state %q (want one of %v)", s, States)
}

// ReasonUndo begins the [Entry.Reason] of every entry an undo writes
// (runtime.Runner.Undo): "undo", "undo: <the operator's why>", or "undo;
// recovered: <how>" for the entry a later run records from the commit
// marker of an interrupted undo. It is what tells an undo's ROLLED_BACK
// (asked for; the change was applied and is pending again) from the
// ROLLED_BACK of a change that failed and was rolled back. The reason
// rides in the existing reason field, so every store persists it without
// a schema change.
const ReasonUndo = "undo"

// IsUndo reports whether e was written by an undo: its Reason is
// [ReasonUndo], alone or followed by ':' or ';'.
func (e *Entry) IsUndo() bool {
	r := e.Reason
	if !strings.HasPrefix(r, ReasonUndo) {
		return false
	}
	return len(r) == len(ReasonUndo) || r[len(ReasonUndo)] == ':' || r[len(ReasonUndo)] == ';'
}

// TxStrategy records which execution protocol a change ran under.
type TxStrategy string

// The execution protocols. See docs/protocols.md.
const (
	// NonTx: the change ran outside any transaction.
	NonTx TxStrategy = "NON_TX"
	// TxShared: the change and its APPLIED entry committed in one
	// transaction of the database that holds both.
	TxShared TxStrategy = "TX_SHARED"
	// TxSeparateWithMarker: the change ran in a target transaction that also
	// wrote a commit marker; the audit store is elsewhere.
	TxSeparateWithMarker TxStrategy = "TX_SEPARATE_WITH_MARKER"
)

// Entry is one append-only record in the audit trail.
type Entry struct {
	// Seq orders entries within a store. The store assigns it on append; it
	// increases with every append.
	Seq int64 `json:"seq"`
	// RunID identifies the run (or the operator action) that wrote the entry.
	RunID    string `json:"run_id"`
	Stage    string `json:"stage"`
	ChangeID string `json:"change_id"`
	Author   string `json:"author"`
	Order    string `json:"order"`
	State    State  `json:"state"`
	TargetID string `json:"target_id"`
	// TxStrategy is the protocol the attempt ran under.
	TxStrategy TxStrategy `json:"tx_strategy"`
	// Recovery is the change's recovery strategy: "manual" or "retry".
	Recovery string `json:"recovery"`
	// Checksum of the change's normalised source when the entry was written.
	Checksum string `json:"checksum"`
	// CreatedAt comes from the store's clock; stores ignore the caller's value.
	CreatedAt time.Time     `json:"created_at"`
	Duration  time.Duration `json:"duration_ns"`
	Host      string        `json:"host"`
	PID       int           `json:"pid"`
	// ToolVersion is the flamingock-go version that wrote the entry.
	ToolVersion string `json:"tool_version"`
	// Actor is who wrote the entry: the service for a run, the operator for a
	// manual resolution.
	Actor string `json:"actor"`
	// Reason is the operator's explanation of a manual resolution, what a
	// run recovered an outcome from ("recovered: ..."), or, for the entries
	// of an undo, [ReasonUndo] and the operator's why (see [Entry.IsUndo]).
	Reason string `json:"reason,omitempty"`
	// Error is the text of the error(s) the attempt ended with; when a
	// rollback failed too, both are kept.
	Error string `json:"error,omitempty"`
	// Metadata is free-form run metadata (service name, version, ...).
	Metadata map[string]string `json:"metadata,omitempty"`
	// Token is the fencing token of the lease the writer held.
	Token int64 `json:"token"`
	// ReadError is set by a store, never stored: part of the stored entry
	// could not be decoded (it was damaged or edited by hand), and the
	// other fields hold what could be read. An entry with a ReadError, like
	// one whose State is not [State.Valid], needs a human.
	ReadError string `json:"read_error,omitempty"`
}

// DecodeMetadata decodes stored metadata, a JSON object of strings. A stored
// value that is not that still yields what it holds, so that one damaged
// entry does not make every read fail: a non-string value is kept as its
// JSON text, and problem says what was wrong (for [Entry.ReadError]). Empty
// raw text is no metadata.
func DecodeMetadata(raw []byte) (m map[string]string, problem string) {
	if len(raw) == 0 {
		return nil, ""
	}
	if err := json.Unmarshal(raw, &m); err == nil {
		return m, ""
	}
	var loose map[string]json.RawMessage
	if err := json.Unmarshal(raw, &loose); err != nil {
		return nil, fmt.Sprintf("metadata is not a JSON object: %v (stored text %q)", err, truncate(string(raw), 200))
	}
	m = make(map[string]string, len(loose))
	var bad []string
	for k, v := range loose {
		var s string
		if json.Unmarshal(v, &s) == nil {
			m[k] = s
			continue
		}
		m[k] = string(v)
		bad = append(bad, strconv.Quote(k))
	}
	sort.Strings(bad)
	return m, fmt.Sprintf("metadata values %s are not strings (kept as their JSON text)", strings.Join(bad, ", "))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Validate reports the first field that makes e unfit to append.
func (e *Entry) Validate() error {
	switch {
	case e.ChangeID == "":
		return fmt.Errorf("audit: entry: change_id is empty")
	case !e.State.Valid():
		return fmt.Errorf("audit: entry for %q: invalid state %q", e.ChangeID, e.State)
	case e.RunID == "":
		return fmt.Errorf("audit: entry for %q: run_id is empty", e.ChangeID)
	case e.Token <= 0:
		return fmt.Errorf("audit: entry for %q: fencing token %d is not positive", e.ChangeID, e.Token)
	}
	return nil
}

// Snapshot is the latest entry of every change that has one, keyed by change id.
type Snapshot map[string]Entry

// HistoryQuery filters [Store.History]. Zero fields do not filter.
type HistoryQuery struct {
	ChangeID string
	State    State
	Since    time.Time
	// Limit caps the number of entries returned (the newest are dropped);
	// zero means no cap.
	Limit int
}

// Matches reports whether e passes the query's filters (Limit aside). Stores
// that filter in memory use it so that every store filters alike.
func (q HistoryQuery) Matches(e Entry) bool {
	if q.ChangeID != "" && e.ChangeID != q.ChangeID {
		return false
	}
	if q.State != "" && e.State != q.State {
		return false
	}
	if !q.Since.IsZero() && e.CreatedAt.Before(q.Since) {
		return false
	}
	return true
}

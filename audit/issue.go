package audit

// IsIssue reports whether e, as the latest entry of its change, leaves the
// change needing a human: the change may be half applied and its recovery
// strategy is "manual". The runner blocks the change's stage on an issue; the
// operations CLI lists issues and records resolutions for them.
//
// An attempt that ran under a transactional protocol is never an issue: its
// transaction either committed (and the commit marker or the shared
// transaction proves it) or left nothing behind, so the next run decides by
// itself. Under recovery "retry" the next run re-applies the change. An
// entry with no (or an unknown) protocol is treated as non-transactional:
// nothing proves what it left behind.
func IsIssue(e Entry) bool {
	if e.Recovery == "retry" || e.TxStrategy == TxShared || e.TxStrategy == TxSeparateWithMarker {
		return false
	}
	switch e.State {
	case Started, Failed, RollbackFailed:
		return true
	}
	return false
}

package couchbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
)

// Snapshot implements [audit.Store.Snapshot]: a small lookup that waits
// while a Couchbase transaction is staged on the state document, then one
// KV get of it. (A full get rather than a sub-document lookup of "latest":
// the whole document is little more than "latest", and gocaves answers
// sub-document reads of large values very slowly.)
//
// The wait matters after an ambiguous commit of a shared transaction: gocb
// can report an error when the transaction's commit record already says
// committed, with the APPLIED entry still staged. A get would return the
// content from before the transaction, and the runner would conclude that
// nothing committed. Waiting for the staged write to be applied (or rolled
// back) by gocb's cleanup gives the answer; if it is not settled within the
// staged wait, Snapshot fails and the runner records nothing.
//
// One damaged entry does not fail the snapshot: it is read with what it
// holds and an [audit.Entry.ReadError]. A state document without its
// "latest" object (removed by hand) has it rebuilt from the history
// documents and the tail.
func (s *Store) Snapshot(ctx context.Context) (audit.Snapshot, error) {
	for {
		if err := s.check(ctx); err != nil {
			return nil, err
		}
		if _, err := s.readUnstaged(ctx); err != nil {
			return nil, err
		}
		res, err := s.coll.Get(s.stateKey, &gocb.GetOptions{Context: ctx})
		if err != nil {
			return nil, fmt.Errorf("couchbase audit store: read %s: %w", s.where(s.stateKey), err)
		}
		var doc struct {
			Seq    int64                      `json:"seq"`
			Latest map[string]json.RawMessage `json:"latest"`
		}
		if err := res.Content(&doc); err != nil {
			return nil, fmt.Errorf("couchbase audit store: decode the latest entries in %s: %w", s.where(s.stateKey), err)
		}
		if doc.Latest == nil && doc.Seq > 0 {
			err := s.rebuildLatest(ctx, res.Cas())
			if isCasMismatch(err) {
				continue // appended to meanwhile: read again
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		snap := make(audit.Snapshot, len(doc.Latest))
		for id, raw := range doc.Latest {
			snap[id] = decodeEntry(raw, id)
		}
		return snap, nil
	}
}

// rebuildLatest writes the state document's "latest" object from the
// history, if the document still has the CAS it was read with.
func (s *Store) rebuildLatest(ctx context.Context, cas gocb.Cas) error {
	h, err := s.History(ctx, audit.HistoryQuery{})
	if err != nil {
		return err
	}
	latest := map[string]audit.Entry{}
	for _, e := range h {
		latest[e.ChangeID] = e
	}
	_, err = s.coll.MutateIn(s.stateKey, []gocb.MutateInSpec{gocb.UpsertSpec("latest", latest, nil)},
		&gocb.MutateInOptions{Cas: cas, Context: ctx})
	if err != nil {
		return fmt.Errorf("couchbase audit store: rebuild the latest entries in %s: %w", s.where(s.stateKey), err)
	}
	s.cfg.log().Warn("flamingock audit store: the latest entries were missing from the state document; rebuilt them from the history",
		"state", s.where(s.stateKey), "entries", len(h), "changes", len(latest))
	return nil
}

// historyBatch is how many history documents one bulk read asks for.
const historyBatch = 256

// History implements [audit.Store.History]. Without a query service there is
// no index to filter on, so it reads every history document (in bulk
// batches) and filters in memory: its cost grows with the history, which is
// why the runner never calls it on the hot path.
func (s *Store) History(ctx context.Context, q audit.HistoryQuery) ([]audit.Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	st, err := s.readState(ctx)
	if err != nil {
		return nil, err
	}
	var out []audit.Entry
	keep := func(e audit.Entry) bool {
		if q.Matches(e) {
			out = append(out, copyEntry(e))
		}
		return q.Limit <= 0 || len(out) < q.Limit
	}
	for first := int64(1); first < st.seq; first += historyBatch {
		last := min(first+historyBatch-1, st.seq-1)
		ops := make([]gocb.BulkOp, 0, last-first+1)
		gets := make([]*gocb.GetOp, 0, last-first+1)
		for seq := first; seq <= last; seq++ {
			g := &gocb.GetOp{ID: s.EntryKey(seq)}
			ops, gets = append(ops, g), append(gets, g)
		}
		if err := s.coll.Do(ops, &gocb.BulkOpOptions{Context: ctx}); err != nil {
			return nil, fmt.Errorf("couchbase audit store: read history documents %d..%d: %w", first, last, err)
		}
		for _, g := range gets {
			if errors.Is(g.Err, gocb.ErrDocumentNotFound) {
				return nil, fmt.Errorf("couchbase audit store: history document %s is missing (below the sequence %d, it must exist)", s.where(g.ID), st.seq)
			}
			if g.Err != nil {
				return nil, fmt.Errorf("couchbase audit store: read history document %s: %w", s.where(g.ID), g.Err)
			}
			var raw json.RawMessage
			if err := g.Result.Content(&raw); err != nil {
				return nil, fmt.Errorf("couchbase audit store: read history document %s: %w", s.where(g.ID), err)
			}
			if !keep(decodeEntry(raw, "")) {
				return out, nil
			}
		}
	}
	if st.seq > 0 && st.tail != nil {
		keep(*st.tail)
	}
	return out, nil
}

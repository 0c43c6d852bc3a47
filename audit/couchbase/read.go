package couchbase

import (
	"context"
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
func (s *Store) Snapshot(ctx context.Context) (audit.Snapshot, error) {
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
		Latest audit.Snapshot `json:"latest"`
	}
	if err := res.Content(&doc); err != nil {
		return nil, fmt.Errorf("couchbase audit store: decode the latest entries in %s: %w", s.where(s.stateKey), err)
	}
	snap := doc.Latest
	if snap == nil {
		snap = audit.Snapshot{}
	}
	for id, e := range snap {
		snap[id] = copyEntry(e)
	}
	return snap, nil
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
			var e audit.Entry
			if err := g.Result.Content(&e); err != nil {
				return nil, fmt.Errorf("couchbase audit store: decode history document %s: %w", s.where(g.ID), err)
			}
			if !keep(e) {
				return out, nil
			}
		}
	}
	if st.seq > 0 && st.tail != nil {
		keep(*st.tail)
	}
	return out, nil
}

package couchbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
)

// latestPath is the sub-document path of a change's latest entry. The id is
// quoted with backticks so dots and brackets in it are not path syntax.
func latestPath(changeID string) string {
	return "latest.`" + strings.ReplaceAll(changeID, "`", "``") + "`"
}

// copyEntry returns e with a metadata map of its own (nil when empty).
func copyEntry(e audit.Entry) audit.Entry {
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	} else {
		e.Metadata = maps.Clone(e.Metadata)
	}
	return e
}

// Append implements [audit.Store.Append]. See the package documentation
// for how the fencing check and the write are made atomic.
func (s *Store) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if err := e.Validate(); err != nil {
		return audit.Entry{}, err
	}
	e = copyEntry(e)
	for {
		if err := s.check(ctx); err != nil {
			return audit.Entry{}, err
		}
		st, err := s.readUnstaged(ctx)
		if err != nil {
			return audit.Entry{}, err
		}
		if !st.valid(e.Token) {
			return audit.Entry{}, fencedError(e)
		}
		if err := s.document(ctx, st); err != nil {
			return audit.Entry{}, err
		}
		e.Seq, e.CreatedAt = st.seq+1, st.now
		raw, err := entryJSON(e)
		if err != nil {
			return audit.Entry{}, err
		}
		_, err = s.coll.MutateIn(s.stateKey, []gocb.MutateInSpec{
			gocb.ReplaceSpec("seq", e.Seq, nil),
			gocb.UpsertSpec("tail", raw, nil),
			gocb.UpsertSpec(latestPath(e.ChangeID), raw, &gocb.UpsertSpecOptions{CreatePath: true}),
		}, &gocb.MutateInOptions{Cas: st.cas, Context: ctx})
		if isCasMismatch(err) {
			continue // the lock or the history moved since the read: check again
		}
		if err != nil {
			return audit.Entry{}, fmt.Errorf("couchbase audit store: append %s %s to %s: %w", e.ChangeID, e.State, s.where(s.stateKey), err)
		}
		return copyEntry(e), nil
	}
}

func fencedError(e audit.Entry) error {
	return fmt.Errorf("couchbase audit store: append %s %s with token %d: %w", e.ChangeID, e.State, e.Token, audit.ErrFenced)
}

// document writes the history document of the state's tail entry if it may
// be missing. Every entry below the tail already has one.
func (s *Store) document(ctx context.Context, st state) error {
	if st.seq == 0 || s.documented.Load() >= st.seq {
		return nil
	}
	if st.tail == nil || st.tail.Seq != st.seq {
		return fmt.Errorf("couchbase audit store: %s: the tail entry does not match seq %d; the document was changed by hand?", s.where(s.stateKey), st.seq)
	}
	key := s.EntryKey(st.seq)
	_, err := s.coll.Insert(key, st.tailRaw, &gocb.InsertOptions{Context: ctx})
	if err != nil && !errors.Is(err, gocb.ErrDocumentExists) {
		return fmt.Errorf("couchbase audit store: write history document %s: %w", s.where(key), err)
	}
	for {
		cur := s.documented.Load()
		if cur >= st.seq || s.documented.CompareAndSwap(cur, st.seq) {
			return nil
		}
	}
}

// AppendTx appends e inside the Couchbase transaction attempt tx, which must
// run on the store's cluster: the state document is replaced and the
// previous tail's history document inserted in the transaction, so the
// entry commits with everything else the transaction writes, or not at all.
//
// It is fenced like [Store.Append]: the lease is checked against the state
// document the transaction read, and a takeover after that read makes the
// transaction's replace (or its commit) fail, so the entry cannot land.
func (s *Store) AppendTx(ctx context.Context, tx *gocb.TransactionAttemptContext, e audit.Entry) (audit.Entry, error) {
	if err := e.Validate(); err != nil {
		return audit.Entry{}, err
	}
	if err := s.check(ctx); err != nil {
		return audit.Entry{}, err
	}
	e = copyEntry(e)
	// The transaction API gives no server time, so read the clock first:
	// every time it reads is then at most the transaction's.
	clock, err := s.readState(ctx)
	if err != nil {
		return audit.Entry{}, err
	}
	doc, err := tx.Get(s.coll, s.stateKey)
	if err != nil {
		return audit.Entry{}, fmt.Errorf("couchbase audit store: read %s in a transaction: %w", s.where(s.stateKey), err)
	}
	var body map[string]json.RawMessage
	if err := doc.Content(&body); err != nil {
		return audit.Entry{}, fmt.Errorf("couchbase audit store: decode %s: %w", s.where(s.stateKey), err)
	}
	var (
		seq     int64
		lock    *lockDoc
		tail    *audit.Entry
		tailRaw json.RawMessage
		latest  map[string]json.RawMessage
	)
	if err := decodeFields(body, map[string]any{"seq": &seq, "lock": &lock, "tail": &tailRaw, "latest": &latest}); err != nil {
		return audit.Entry{}, fmt.Errorf("couchbase audit store: %s: %w", s.where(s.stateKey), err)
	}
	if len(tailRaw) > 0 && string(tailRaw) != "null" {
		// A damaged tail is read as far as it goes and kept as stored.
		t := decodeEntry(tailRaw, "")
		tail = &t
	}
	now := clock.now
	if lock == nil || lock.Token != e.Token || !now.Before(nsTime(lock.ExpiresNs)) {
		return audit.Entry{}, fencedError(e)
	}
	if tail != nil && tail.CreatedAt.After(now) {
		now = tail.CreatedAt // an append landed between the clock read and the transaction's
	}
	if seq > 0 && s.documented.Load() < seq {
		if tail == nil || tail.Seq != seq {
			return audit.Entry{}, fmt.Errorf("couchbase audit store: %s: the tail entry does not match seq %d", s.where(s.stateKey), seq)
		}
		key := s.EntryKey(seq)
		if _, err := tx.Get(s.coll, key); errors.Is(err, gocb.ErrDocumentNotFound) {
			if _, err := tx.Insert(s.coll, key, tailRaw); err != nil {
				return audit.Entry{}, fmt.Errorf("couchbase audit store: write history document %s in a transaction: %w", s.where(key), err)
			}
		} else if err != nil {
			return audit.Entry{}, fmt.Errorf("couchbase audit store: read history document %s in a transaction: %w", s.where(key), err)
		}
	}
	e.Seq, e.CreatedAt = seq+1, now
	raw, err := entryJSON(e)
	if err != nil {
		return audit.Entry{}, err
	}
	if latest == nil {
		latest = map[string]json.RawMessage{}
	}
	latest[e.ChangeID] = raw
	for k, v := range map[string]any{"seq": e.Seq, "tail": raw, "latest": latest} {
		if body[k], err = json.Marshal(v); err != nil {
			return audit.Entry{}, fmt.Errorf("couchbase audit store: encode %s: %w", k, err)
		}
	}
	if _, err := tx.Replace(doc, body); err != nil {
		return audit.Entry{}, fmt.Errorf("couchbase audit store: append %s %s to %s in a transaction: %w", e.ChangeID, e.State, s.where(s.stateKey), err)
	}
	return copyEntry(e), nil
}

// decodeFields decodes the named fields of a document body; absent fields
// keep their zero value.
func decodeFields(body map[string]json.RawMessage, into map[string]any) error {
	for name, ptr := range into {
		raw, ok := body[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, ptr); err != nil {
			return fmt.Errorf("decode field %q: %w", name, err)
		}
	}
	return nil
}

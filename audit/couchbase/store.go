package couchbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
)

// Store is the Couchbase audit store. It implements [audit.Store]. It is
// safe for concurrent use; instances on the same documents (other
// processes) share the history and the lock.
type Store struct {
	cluster    *gocb.Cluster
	bucket     string
	coll       *gocb.Collection
	cfg        config
	stateKey   string
	closed     atomic.Bool
	documented atomic.Int64 // highest seq known to have its history document
}

var _ audit.Store = (*Store)(nil)

// ErrNoAuditTrail is returned by [New] under [WithoutAutoCreate] when the
// state document does not exist.
var ErrNoAuditTrail = errors.New("couchbase audit store: no audit trail here")

// New returns a store on the bucket of cluster, creating the state document
// if it does not exist (see [WithoutAutoCreate]). The cluster stays the caller's: [Store.Close] does
// not close it.
func New(ctx context.Context, cluster *gocb.Cluster, bucket string, opts ...Option) (*Store, error) {
	if cluster == nil || bucket == "" {
		return nil, errors.New("couchbase audit store: New needs a cluster and a bucket name")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	s := &Store{
		cluster:  cluster,
		bucket:   bucket,
		coll:     cluster.Bucket(bucket).Scope(cfg.scope).Collection(cfg.collection),
		cfg:      cfg,
		stateKey: cfg.prefix + "::state",
	}
	if err := s.ensureState(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureState checks that the state document and the history documents
// agree, creating the state document when there is none. The history
// documents are the record: a state document whose first history document
// is gone is refused ([audit.ErrHistoryMissing]), and a state document
// missing beside history documents is rebuilt from them, not started empty.
func (s *Store) ensureState(ctx context.Context) error {
	st, err := s.readState(ctx)
	if err == nil {
		// Entries below seq have documents; the first must be there.
		if st.seq > 1 {
			if res, err := s.coll.Exists(s.EntryKey(1), &gocb.ExistsOptions{Context: ctx}); err != nil {
				return fmt.Errorf("couchbase audit store: check %s: %w", s.where(s.EntryKey(1)), err)
			} else if !res.Exists() {
				return fmt.Errorf("couchbase audit store: %w: %s says %d entries were appended, but the history document %s is missing; "+
					"the store will not carry on over a lost history. Restore the history documents from a backup; or, to start a new audit trail on purpose (every change will run again), delete %s too",
					audit.ErrHistoryMissing, s.where(s.stateKey), st.seq, s.where(s.EntryKey(1)), s.where(s.stateKey))
			}
		}
		return nil
	}
	if !errors.Is(err, gocb.ErrDocumentNotFound) {
		return err
	}
	if s.cfg.noCreate {
		return fmt.Errorf("%w: no state document %s", ErrNoAuditTrail, s.where(s.stateKey))
	}
	initial, n, err := s.stateFromHistory(ctx)
	if err != nil {
		return err
	}
	if _, err := s.coll.Insert(s.stateKey, initial, &gocb.InsertOptions{Context: ctx}); err != nil && !errors.Is(err, gocb.ErrDocumentExists) {
		return fmt.Errorf("couchbase audit store: create %s: %w", s.where(s.stateKey), err)
	} else if err == nil && n > 0 {
		s.cfg.log().Warn("flamingock audit store: the state document was missing; rebuilt it from the history documents. "+
			"The entry appended last before it was lost, if any, was kept only in the state document and is gone",
			"state", s.where(s.stateKey), "entries", n, "seq", initial["seq"], "token", initial["token"])
	}
	return nil
}

// stateFromHistory builds the state document the history documents imply:
// empty when there are none; otherwise seq and token at the largest the
// entries carry, the latest entry of every change, and the newest entry as
// the tail.
func (s *Store) stateFromHistory(ctx context.Context) (map[string]any, int, error) {
	doc := map[string]any{"seq": int64(0), "token": int64(0), "latest": map[string]json.RawMessage{}}
	var (
		n      int
		latest = map[string]json.RawMessage{}
		seqOf  = map[string]int64{}
	)
	for first := int64(1); ; first += historyBatch {
		ops := make([]gocb.BulkOp, 0, historyBatch)
		gets := make([]*gocb.GetOp, 0, historyBatch)
		for seq := first; seq < first+historyBatch; seq++ {
			g := &gocb.GetOp{ID: s.EntryKey(seq)}
			ops, gets = append(ops, g), append(gets, g)
		}
		if err := s.coll.Do(ops, &gocb.BulkOpOptions{Context: ctx}); err != nil {
			return nil, 0, fmt.Errorf("couchbase audit store: read history documents from %d: %w", first, err)
		}
		for _, g := range gets {
			if errors.Is(g.Err, gocb.ErrDocumentNotFound) {
				if n > 0 {
					doc["latest"] = latest
				}
				return doc, n, nil
			}
			if g.Err != nil {
				return nil, 0, fmt.Errorf("couchbase audit store: read history document %s: %w", s.where(g.ID), g.Err)
			}
			var raw json.RawMessage
			if err := g.Result.Content(&raw); err != nil {
				return nil, 0, fmt.Errorf("couchbase audit store: read history document %s: %w", s.where(g.ID), err)
			}
			e := decodeEntry(raw, "")
			n++
			if e.Seq > doc["seq"].(int64) {
				doc["seq"], doc["tail"] = e.Seq, raw
			}
			if e.Token > doc["token"].(int64) {
				doc["token"] = e.Token
			}
			if e.ChangeID != "" && e.Seq >= seqOf[e.ChangeID] {
				latest[e.ChangeID], seqOf[e.ChangeID] = raw, e.Seq
			}
		}
	}
}

// Cluster and Bucket identify where the store keeps its documents, so a
// Couchbase target can tell whether it shares them.
func (s *Store) Cluster() *gocb.Cluster { return s.cluster }

// Bucket returns the bucket name the store was opened on.
func (s *Store) Bucket() string { return s.bucket }

// Collection returns the collection holding the store's documents.
func (s *Store) Collection() *gocb.Collection { return s.coll }

// StateKey is the key of the state document.
func (s *Store) StateKey() string { return s.stateKey }

// EntryKey is the key of the history document of entry seq.
func (s *Store) EntryKey(seq int64) string {
	return s.cfg.prefix + "::entry::" + strconv.FormatInt(seq, 10)
}

// Close implements [audit.Store.Close]. It closes this handle only.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return audit.ErrClosed
	}
	return nil
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return audit.ErrClosed
	}
	return ctx.Err()
}

// where names a document for error messages.
func (s *Store) where(key string) string {
	return fmt.Sprintf("%q in %s.%s.%s", key, s.bucket, s.cfg.scope, s.cfg.collection)
}

// lockDoc is the lease as kept in the state document. Times are nanoseconds
// of the server's clock.
type lockDoc struct {
	Owner      audit.Owner `json:"owner"`
	Token      int64       `json:"token"`
	AcquiredNs int64       `json:"acquired_ns,string"` // strings: JSON numbers may pass through a float64
	ExpiresNs  int64       `json:"expires_ns,string"`
}

func (l lockDoc) lease() audit.Lease {
	return audit.Lease{Owner: l.Owner, Token: l.Token, AcquiredAt: nsTime(l.AcquiredNs), ExpiresAt: nsTime(l.ExpiresNs)}
}

// state is what one lookup of the state document returns.
type state struct {
	cas    gocb.Cas
	now    time.Time // the store's clock, see the package doc
	staged bool      // a Couchbase transaction is staged on the document
	seq    int64
	token  int64
	lock   *lockDoc
	tail   *audit.Entry
	// tailRaw is the tail as stored, which becomes its history document
	// byte for byte (a damaged tail is kept as it is).
	tailRaw json.RawMessage
}

// The state lookup's specs, extended attributes first as the server wants.
var stateSpecs = []gocb.LookupInSpec{
	gocb.GetSpec("$vbucket.HLC", &gocb.GetSpecOptions{IsXattr: true}),
	gocb.ExistsSpec("txn", &gocb.ExistsSpecOptions{IsXattr: true}),
	gocb.GetSpec("seq", nil),
	gocb.GetSpec("token", nil),
	gocb.GetSpec("lock", nil),
	gocb.GetSpec("tail", nil),
}

// readState looks the state document up once.
func (s *Store) readState(ctx context.Context) (state, error) {
	res, err := s.coll.LookupIn(s.stateKey, stateSpecs, &gocb.LookupInOptions{Context: ctx})
	if err != nil {
		return state{}, fmt.Errorf("couchbase audit store: read %s: %w", s.where(s.stateKey), err)
	}
	st := state{cas: res.Cas(), staged: res.Exists(1)}
	var hlc struct {
		Now string `json:"now"`
	}
	if err := res.ContentAt(0, &hlc); err != nil {
		return state{}, fmt.Errorf("couchbase audit store: read the vBucket clock of %s: %w", s.where(s.stateKey), err)
	}
	st.now, err = storeNow(hlc.Now, st.cas)
	if err != nil {
		return state{}, fmt.Errorf("couchbase audit store: %s: %w", s.where(s.stateKey), err)
	}
	if err := res.ContentAt(2, &st.seq); err != nil {
		return state{}, fmt.Errorf("couchbase audit store: %s has no seq (not a state document?): %w", s.where(s.stateKey), err)
	}
	if err := res.ContentAt(3, &st.token); err != nil {
		return state{}, fmt.Errorf("couchbase audit store: %s has no token: %w", s.where(s.stateKey), err)
	}
	if res.Exists(4) {
		var l lockDoc
		if err := res.ContentAt(4, &l); err != nil {
			return state{}, fmt.Errorf("couchbase audit store: decode the lock in %s: %w", s.where(s.stateKey), err)
		}
		st.lock = &l
	}
	if res.Exists(5) {
		var raw json.RawMessage
		if err := res.ContentAt(5, &raw); err != nil {
			return state{}, fmt.Errorf("couchbase audit store: read the tail entry in %s: %w", s.where(s.stateKey), err)
		}
		e := decodeEntry(raw, "")
		st.tail, st.tailRaw = &e, raw
	}
	return st, nil
}

// readUnstaged reads the state document, waiting while a transaction is
// staged on it.
func (s *Store) readUnstaged(ctx context.Context) (state, error) {
	deadline := time.Now().Add(s.cfg.stagedWait)
	pause := 5 * time.Millisecond
	for {
		st, err := s.readState(ctx)
		if err != nil || !st.staged {
			return st, err
		}
		if time.Now().After(deadline) {
			return state{}, fmt.Errorf("couchbase audit store: a Couchbase transaction has been staged on %s for over %v; "+
				"gocb's lost-transaction cleanup removes an abandoned one after it expires", s.where(s.stateKey), s.cfg.stagedWait)
		}
		select {
		case <-ctx.Done():
			return state{}, ctx.Err()
		case <-time.After(pause): // polling interval: Couchbase has no notification for this
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// valid reports whether token is the current lease's and the lease has not
// expired at the state's clock.
func (st state) valid(token int64) bool {
	return st.lock != nil && st.lock.Token == token && st.now.Before(nsTime(st.lock.ExpiresNs))
}

// storeNow is the later of the vBucket clock (whole seconds, as a decimal
// string) and the time in the state document's CAS.
func storeNow(hlcSeconds string, cas gocb.Cas) (time.Time, error) {
	sec, err := strconv.ParseInt(strings.TrimSpace(hlcSeconds), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unreadable vBucket clock %q: %w", hlcSeconds, err)
	}
	now := time.Unix(sec, 0).UTC()
	if c := casTime(cas); c.After(now) {
		now = c
	}
	return now, nil
}

// casTime is the server time a CAS was stamped at: the CAS is a hybrid
// logical clock in nanoseconds since the epoch.
func casTime(cas gocb.Cas) time.Time { return nsTime(int64(cas)) }

func nsTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func isCasMismatch(err error) bool {
	return errors.Is(err, gocb.ErrCasMismatch) || errors.Is(err, gocb.ErrDocumentExists)
}

// entryJSON encodes an entry in the stored form (the audit package's JSON
// field names).
func entryJSON(e audit.Entry) (json.RawMessage, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("couchbase audit store: encode entry for %q: %w", e.ChangeID, err)
	}
	return b, nil
}

package couchbase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/internal/cbtest"
)

// TestDamage runs the suite's damage cases on the Couchbase analogues:
// the history documents deleted, the state document's "latest" object
// removed, entries garbled in place.
func TestDamage(t *testing.T) {
	srv := cbtest.Shared(t)
	audittest.RunDamage(t, func(t *testing.T) audittest.DamageBackend {
		prefix := cbtest.Prefix(t)
		admin := srv.Connect(t)
		return audittest.DamageBackend{
			Open: func() (audit.Store, error) {
				c, err := srv.Open()
				if err != nil {
					return nil, err
				}
				t.Cleanup(func() { _ = c.Close(nil) })
				return couchbase.New(context.Background(), c, cbtest.Bucket, couchbase.WithKeyPrefix(prefix))
			},
			Damage: kvDamager{coll: admin.Bucket(cbtest.Bucket).DefaultCollection(), prefix: prefix},
		}
	})
}

// kvDamager damages the store's documents with plain KV operations.
type kvDamager struct {
	coll   *gocb.Collection
	prefix string
}

func (d kvDamager) stateKey() string          { return d.prefix + "::state" }
func (d kvDamager) entryKey(seq int64) string { return fmt.Sprintf("%s::entry::%d", d.prefix, seq) }

func (d kvDamager) seq() (int64, error) {
	res, err := d.coll.LookupIn(d.stateKey(), []gocb.LookupInSpec{gocb.GetSpec("seq", nil)}, nil)
	if err != nil {
		return 0, err
	}
	var seq int64
	return seq, res.ContentAt(0, &seq)
}

func (d kvDamager) Drop(p audittest.Part) error {
	switch p {
	case audittest.PartHistory:
		seq, err := d.seq()
		if err != nil {
			return err
		}
		for i := int64(1); i < seq; i++ {
			if _, err := d.coll.Remove(d.entryKey(i), nil); err != nil {
				return err
			}
		}
		return nil
	case audittest.PartLatest:
		_, err := d.coll.MutateIn(d.stateKey(), []gocb.MutateInSpec{gocb.RemoveSpec("latest", nil)}, nil)
		return err
	case audittest.PartDigest:
		return fmt.Errorf("%w: the Couchbase store keeps no applied digest", audittest.ErrUnsupported)
	default:
		return fmt.Errorf("%w: the lock and its token live in the state document, with the sequence and the latest entries (TestStateDocumentDeleted covers losing it)", audittest.ErrUnsupported)
	}
}

func (d kvDamager) SetRaw(changeID, field, raw string) error {
	value := json.RawMessage(raw)
	if field == "state" {
		b, _ := json.Marshal(raw)
		value = b
	}
	seq, err := d.seq()
	if err != nil {
		return err
	}
	for i := int64(1); i < seq; i++ {
		var e struct {
			ChangeID string `json:"change_id"`
		}
		res, err := d.coll.Get(d.entryKey(i), nil)
		if err != nil {
			return err
		}
		if err := res.Content(&e); err != nil {
			return err
		}
		if e.ChangeID == changeID {
			if _, err := d.coll.MutateIn(d.entryKey(i), []gocb.MutateInSpec{gocb.UpsertSpec(field, value, nil)}, nil); err != nil {
				return err
			}
		}
	}
	specs := []gocb.MutateInSpec{gocb.UpsertSpec("latest.`"+changeID+"`."+field, value, nil)}
	res, err := d.coll.LookupIn(d.stateKey(), []gocb.LookupInSpec{gocb.GetSpec("tail.change_id", nil)}, nil)
	if err != nil {
		return err
	}
	var tail string
	if res.ContentAt(0, &tail) == nil && tail == changeID {
		specs = append(specs, gocb.UpsertSpec("tail."+field, value, nil))
	}
	_, err = d.coll.MutateIn(d.stateKey(), specs, nil)
	return err
}

func (d kvDamager) DeleteHistory(string) error {
	return fmt.Errorf("%w: the state document, not the history documents, holds the latest entries that the runner and the operations tools both read; there is no digest to disagree with them", audittest.ErrUnsupported)
}

func (d kvDamager) SetLatestState(string, string) error {
	return fmt.Errorf("%w: the state document's latest entries are what the runner and the operations tools both read; there is no digest to disagree with them", audittest.ErrUnsupported)
}

func (d kvDamager) InsertLatest(string, string, string) error {
	return fmt.Errorf("%w: the state document's latest entries are what the runner and the operations tools both read; there is no digest to disagree with them", audittest.ErrUnsupported)
}

func (d kvDamager) RaiseLatest(string, string) error {
	return fmt.Errorf("%w: the state document's latest entries are what the runner and the operations tools both read; there is no digest to disagree with them", audittest.ErrUnsupported)
}

// TestStateDocumentDeleted: the state document holds the sequence, the
// token, the lease and the latest entries. Deleted, it is rebuilt from the
// history documents on the next open, not started empty: the latest entries
// come back (all but the last entry, which lived only in the deleted
// document's tail), and sequence numbers and tokens continue above the
// trail's.
func TestStateDocumentDeleted(t *testing.T) {
	c := cbtest.Shared(t).Connect(t)
	ctx := context.Background()
	prefix := cbtest.Prefix(t)
	var logs bytes.Buffer
	open := func() *couchbase.Store {
		t.Helper()
		s, err := couchbase.New(ctx, c, cbtest.Bucket, couchbase.WithKeyPrefix(prefix), couchbase.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	l, err := s.AcquireLock(ctx, audittest.Owner("a"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var last audit.Entry
	for _, x := range []struct {
		id string
		st audit.State
	}{{"a", audit.Applied}, {"b", audit.Failed}, {"b", audit.Applied}, {"c", audit.Applied}} {
		if last, err = s.Append(ctx, audittest.SampleEntry(x.id, x.st, l.Token)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Bucket(cbtest.Bucket).DefaultCollection().Remove(s.StateKey(), nil); err != nil {
		t.Fatal(err)
	}
	s = open()
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 2 || snap["a"].State != audit.Applied || snap["b"].State != audit.Applied {
		t.Errorf("snapshot rebuilt from the history documents: %v, want a and b APPLIED (c's only entry was the lost tail)", snap)
	}
	if !strings.Contains(logs.String(), "rebuilt it from the history documents") {
		t.Errorf("the rebuild was not logged:\n%s", logs.String())
	}
	l2, err := s.AcquireLock(ctx, audittest.Owner("b"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Token <= l.Token {
		t.Errorf("token after the rebuild %d, not above the trail's %d", l2.Token, l.Token)
	}
	e, err := s.Append(ctx, audittest.SampleEntry("d", audit.Applied, l2.Token))
	if err != nil {
		t.Fatal(err)
	}
	// The lost tail had no document, so its number may be used again;
	// nothing below it is.
	if e.Seq < last.Seq {
		t.Errorf("seq after the rebuild %d went below the trail's %d", e.Seq, last.Seq)
	}
	if h, err := s.History(ctx, audit.HistoryQuery{}); err != nil || len(h) != 4 {
		t.Errorf("history after the rebuild: %d entries, %v; want the 3 documented and the new one", len(h), err)
	}
	if _, err := s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
}

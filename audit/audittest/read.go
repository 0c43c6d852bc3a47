package audittest

import (
	"context"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
)

// States returns the states of a change's history, oldest first, joined by
// commas ("STARTED,APPLIED"): the form tests of runners and targets assert
// on.
func States(t testing.TB, s audit.Store, changeID string) string {
	t.Helper()
	h, err := s.History(context.Background(), audit.HistoryQuery{ChangeID: changeID})
	if err != nil {
		t.Fatal(err)
	}
	states := make([]string, len(h))
	for i, e := range h {
		states[i] = string(e.State)
	}
	return strings.Join(states, ",")
}

// Latest returns a change's latest entry and fails the test when it has
// none.
func Latest(t testing.TB, s audit.Store, changeID string) audit.Entry {
	t.Helper()
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e, ok := snap[changeID]
	if !ok {
		t.Fatalf("no audit entry for %s", changeID)
	}
	return e
}

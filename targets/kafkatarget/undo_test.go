package kafkatarget_test

import (
	"context"
	"testing"

	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// Undo on Kafka (kfake) runs a non-transactional rollback: STARTED, then
// ROLLED_BACK with the reason "undo"; the next run creates the topic again.
func TestUndoDeletesTheTopicAndTheRunCreatesItAgain(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := stage(topicChange("a", nil, nil))
	if _, err := e.runner(t, p).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.runner(t, p).Undo(ctx, flamingock.UndoOptions{Last: 1, Why: "topic misconfigured"}); err != nil {
		t.Fatal(err)
	}
	if topicExists(t, e.seeds, "topic-a") {
		t.Fatal("undo did not delete the topic")
	}
	if got, l := e.history(t, "a"), e.latest(t, "a"); got != "STARTED,APPLIED,STARTED,ROLLED_BACK" || l.Reason != "undo: topic misconfigured" {
		t.Fatalf("history %s, reason %q", got, l.Reason)
	}
	if _, err := e.runner(t, p).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if e.history(t, "a") != "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED" || !topicExists(t, e.seeds, "topic-a") {
		t.Fatalf("after the re-run: history %s", e.history(t, "a"))
	}
}

package s3target_test

import (
	"context"
	"errors"
	"testing"

	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// Undo on S3 runs the rollback outside a transaction: STARTED, then
// ROLLED_BACK; the next run writes the object again. A rollback that fails
// leaves ROLLBACK_FAILED, an issue.
func TestUndoOnS3(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	doc := documentChange("doc", nil, nil)
	doc.Order = "2"
	first := documentChange("first", nil, nil)
	p := stage(first, doc)
	if _, err := e.runner(t, p).Run(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := e.runner(t, p).Undo(ctx, flamingock.UndoOptions{To: "first", Actor: "ops"})
	if err != nil || len(rep.Changes) != 1 || rep.Changes[0].ChangeID != "doc" {
		t.Fatalf("undo: %v %+v", err, rep.Changes)
	}
	if e.exists(t, "documents/doc.json") || !e.exists(t, "documents/first.json") {
		t.Fatal("undo did not delete exactly documents/doc.json")
	}
	if got := e.history(t, "doc"); got != "STARTED,APPLIED,STARTED,ROLLED_BACK" {
		t.Errorf("history %s", got)
	}
	if l := e.latest(t, "doc"); !l.IsUndo() || l.Actor != "ops" {
		t.Errorf("undo entry %+v", l)
	}
	if _, err := e.runner(t, p).Run(ctx); err != nil || !e.exists(t, "documents/doc.json") {
		t.Fatalf("re-run: %v, object back: %v", err, e.exists(t, "documents/doc.json"))
	}

	broken := stage(first, documentChange("doc", nil, errors.New("access denied")))
	broken[0].Changes[1].Order = "2"
	if _, err := e.runner(t, broken).Undo(ctx, flamingock.UndoOptions{Last: 1}); err == nil {
		t.Fatal("a failing rollback: no error")
	}
	if got := e.history(t, "doc"); got != "STARTED,APPLIED,STARTED,ROLLED_BACK,STARTED,APPLIED,STARTED,ROLLBACK_FAILED" {
		t.Errorf("history %s", got)
	}
	if _, err := e.runner(t, p).Run(ctx); !errors.Is(err, flamingock.ErrIssues) {
		t.Errorf("run after a failed undo on S3: %v, want an issue", err)
	}
}

package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/memory"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

func TestResolutionZeroLockWaitTriesOnce(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	lease, err := store.AcquireLock(ctx, audit.Owner{Host: "web-7", PID: 4242, RunID: "someone-else"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.ReleaseLock(ctx, lease) }()
	_, err = flamingock.MarkApplied(ctx, store, flamingock.Resolution{ChangeID: "a", By: "ops", Reason: "checked", LockWait: new(time.Duration(0))})
	if !errors.Is(err, flamingock.ErrLockTimeout) || !strings.Contains(err.Error(), "after 0s") {
		t.Errorf("err = %v, want ErrLockTimeout after 0s", err)
	}
}

func TestResolutionRejectsBlankReason(t *testing.T) {
	_, err := flamingock.MarkApplied(context.Background(), memory.New(), flamingock.Resolution{ChangeID: "a", By: "ops", Reason: " \t\n"})
	if err == nil || !strings.Contains(err.Error(), "a reason is required") {
		t.Errorf("err = %v, want a reason is required", err)
	}
}

package crashtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

const (
	envPrefix = "FLAMINGOCK_CRASHTEST_"
	childVar  = envPrefix + "CHILD"
	stepVar   = envPrefix + "KILL_AT"
)

// Steps every target's crash tests name.
const (
	// ApplyBegin: inside the change, before its effect.
	ApplyBegin = "apply-begin"
	// ApplyEnd: inside the change, after its effect, before it returns.
	ApplyEnd = "apply-end"
	// BeforeApplied: the change returned (and committed, for the marker
	// protocol); its APPLIED entry is about to be appended.
	BeforeApplied = "before-applied"
	// AfterApplied: the change's outcome is recorded.
	AfterApplied = "after-applied"
)

// Main runs child instead of the tests when this process is a child started
// by [Command]; child's result is the exit code.
func Main(m *testing.M, child func() int) {
	RunIfChild(child)
	os.Exit(m.Run())
}

// RunIfChild runs child and exits with its result when this process is a
// child started by [Command], and returns otherwise. It is [Main] for a
// TestMain that runs the tests some other way, such as through a helper
// that also tears down a shared server:
//
//	func TestMain(m *testing.M) {
//		crashtest.RunIfChild(child)
//		cbtest.Main(m)
//	}
func RunIfChild(child func() int) {
	if os.Getenv(childVar) != "" {
		os.Exit(child())
	}
}

// Param returns a parameter the parent passed to the child.
func Param(name string) string { return os.Getenv(envPrefix + name) }

// Step is the step this child dies at; empty in the parent and in children
// that run to the end.
func Step() string { return os.Getenv(stepVar) }

// At kills the process if step is the one it must die at.
func At(step string) {
	if step != "" && step == Step() {
		Kill()
	}
}

// Kill sends SIGKILL to this process and waits for it to land.
func Kill() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // delivery is asynchronous
}

// KillAfterRecorded is a runner option that kills the child at
// [AfterApplied] once the outcome of changeID is recorded.
func KillAfterRecorded(changeID string) flamingock.Option {
	return flamingock.WithListener(func(ev flamingock.Event) {
		if f, ok := ev.(flamingock.ChangeFinished); ok && f.Result.ChangeID == changeID {
			At(AfterApplied)
		}
	})
}

// Command returns the command that re-executes the test binary as a child
// that dies at step (none when empty), with params readable by [Param].
func Command(step string, params map[string]string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childVar+"=1", stepVar+"="+step)
	for k, v := range params {
		cmd.Env = append(cmd.Env, envPrefix+k+"="+v)
	}
	return cmd
}

// RunUntilKilled runs a child that must die at step and fails the test if
// anything but SIGKILL ended it.
func RunUntilKilled(t testing.TB, step string, params map[string]string) {
	t.Helper()
	cmd := Command(step, params)
	out, err := cmd.CombinedOutput()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed at %s: %v\n%s", step, err, out)
	}
}

// ResolveStartedIssue checks that a recovery run's error reports exactly
// one issue, on changeID left STARTED by the killed child, and records an
// operator's MarkRolledBack for it, so the next run applies it again.
func ResolveStartedIssue(t testing.TB, runErr error, store audit.Store, changeID string) {
	t.Helper()
	issues, ok := errors.AsType[*flamingock.IssuesError](runErr)
	if !ok || len(issues.Issues) != 1 || issues.Issues[0].Latest.ChangeID != changeID || issues.Issues[0].Latest.State != audit.Started {
		t.Fatalf("recovery run: want an issue on %s left STARTED, got %v", changeID, runErr)
	}
	res := flamingock.Resolution{ChangeID: changeID, By: "ops", Reason: "checked the target after the crash"}
	if _, err := flamingock.MarkRolledBack(context.Background(), store, res); err != nil {
		t.Fatal(err)
	}
}

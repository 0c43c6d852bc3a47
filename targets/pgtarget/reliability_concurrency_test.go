package pgtarget_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/crashtest"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

const (
	relProcesses = 8
	relChanges   = 20
)

// relMixedPipeline has relChanges changes alternating between
// transactional (odd) and non-transactional (even) ones.
func relMixedPipeline() flamingock.Pipeline {
	changes := make([]flamingock.Change, 0, relChanges)
	for i := 1; i <= relChanges; i++ {
		id, order := fmt.Sprintf("c%02d", i), fmt.Sprintf("%02d", i)
		if i%2 == 1 {
			changes = append(changes, relTxChange(id, order, flamingock.RecoveryManual, nil))
		} else {
			changes = append(changes, relPoolChange(id, order, flamingock.RecoveryManual, nil))
		}
	}
	return flamingock.NewPipeline(flamingock.Stage{Name: "mixed", Changes: changes})
}

// relConcurrentChild connects, says "ready", waits for the parent's "go"
// on stdin so that every process starts its run at the same moment, runs
// the mixed pipeline and reports the changes it applied.
func relConcurrentChild(ctx context.Context) error {
	e, err := relOpenChild(ctx, nil)
	if err != nil {
		return err
	}
	r, err := e.runner(relMixedPipeline(), flamingock.WithLockTTL(5*time.Second), flamingock.WithLockWait(60*time.Second))
	if err != nil {
		return err
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	rep, err := r.Run(ctx)
	out := relChildReport{PID: os.Getpid(), RunID: rep.RunID}
	for _, c := range rep.Changes {
		if c.Action == flamingock.ActionApply && c.State == audit.Applied {
			out.Applied = append(out.Applied, c.ChangeID)
		}
	}
	if err != nil {
		out.Err = err.Error()
	}
	return relReport(out)
}

// Eight processes start the same run at the same moment; every change
// takes effect once and is APPLIED once in the audit trail.
func TestReliabilityConcurrentProcesses(t *testing.T) {
	t.Parallel()
	// shared: odd changes run in a transaction shared with the audit
	// store; separate: with a commit marker. Even changes run outside a
	// transaction in both.
	for _, protocol := range []string{"shared", "separate"} {
		t.Run(protocol, func(t *testing.T) {
			e := relNewEnv(t, protocol)
			procs := make([]*relProc, relProcesses)
			for i := range procs {
				procs[i] = relStart(t, crashtest.Command("", relChildParams("concurrent", e.layout, protocol, "", "")), true)
			}
			for i, p := range procs {
				if got := p.readLine(t, 30*time.Second); got != "ready" {
					t.Fatalf("process %d: got %q, want ready", i, got)
				}
			}
			var wg sync.WaitGroup
			for _, p := range procs {
				wg.Go(func() {
					_, _ = p.stdin.Write([]byte("go\n"))
					p.stdin.Close()
				})
			}
			wg.Wait()

			appliedBy := map[string][]int{} // change id -> pids that applied it
			applying := 0
			for i, p := range procs {
				line := p.readLine(t, 60*time.Second)
				if err := p.wait(t, 30*time.Second); err != nil {
					t.Fatalf("process %d: %v\n%s", i, err, p.stderr.String())
				}
				var rep relChildReport
				if err := json.Unmarshal([]byte(line), &rep); err != nil {
					t.Fatalf("process %d: report %q: %v", i, line, err)
				}
				if rep.Err != "" {
					t.Errorf("process %d: run failed: %s", i, rep.Err)
				}
				if len(rep.Applied) > 0 {
					applying++
				}
				for _, id := range rep.Applied {
					appliedBy[id] = append(appliedBy[id], rep.PID)
				}
			}

			txStrategy := audit.TxShared
			if protocol == "separate" {
				txStrategy = audit.TxSeparateWithMarker
			}
			for i := 1; i <= relChanges; i++ {
				id := fmt.Sprintf("c%02d", i)
				if pids := appliedBy[id]; len(pids) != 1 {
					t.Errorf("%s: reported applied by processes %v, want exactly one", id, pids)
				}
				if n := e.effects(t, id); n != 1 {
					t.Errorf("%s took effect %d times, want 1", id, n)
				}
				want, strategy := "STARTED,APPLIED", audit.NonTx
				if i%2 == 1 {
					strategy = txStrategy
					if protocol == "shared" {
						want = "APPLIED" // the shared transaction is the record
					}
				}
				entries := e.entries(t, id)
				var states []string
				for _, x := range entries {
					states = append(states, string(x.State))
					if x.TxStrategy != strategy {
						t.Errorf("%s: entry %d ran under %s, want %s", id, x.Seq, x.TxStrategy, strategy)
					}
				}
				if got := strings.Join(states, ","); got != want {
					t.Errorf("%s: history %s, want %s", id, got, want)
				}
			}
			e.checkConsistent(t)
			t.Logf("%d processes, %d changes: %d process(es) applied changes, each change exactly once", relProcesses, relChanges, applying)
		})
	}
}

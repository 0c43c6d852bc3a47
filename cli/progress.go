package cli

import (
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/internal/cliout"
	flamingock "github.com/flamingock/flamingock-go/runtime"
)

// Progress turns a runner's events into one line per change while apply
// runs. A runner takes listeners only when it is built, so register the
// progress with the runner and hand it to the command:
//
//	progress := cli.NewProgress()
//	runner, err := flamingock.New(pipeline, flamingock.WithAuditStore(store), progress.Listener())
//	root.AddCommand(cli.Command(runner, cli.WithProgress(progress)))
//
// It prints only while apply runs; runs started elsewhere (say at the
// application's start-up) are not reported.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	width int
}

// NewProgress returns a progress printer to register with a runner.
func NewProgress() *Progress { return &Progress{} }

// Listener returns the runner option that feeds the progress.
func (p *Progress) Listener() flamingock.Option { return flamingock.WithListener(p.listen) }

func (p *Progress) start(w io.Writer, color bool, width int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.w, p.color, p.width = w, color, width
}

func (p *Progress) stop() { p.start(nil, false, 0) }

func (p *Progress) listen(ev flamingock.Event) {
	f, ok := ev.(flamingock.ChangeFinished)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w != nil {
		writeResult(p.w, f.Result, p.color, p.width)
	}
}

// writeResult prints the line of one change that ran: a mark, its id, the
// state recorded and how long it took.
func writeResult(w io.Writer, r flamingock.ChangeResult, color bool, width int) {
	mark, st := "✓", cliout.Green
	if r.Err != nil {
		mark, st = "✗", cliout.Red
	}
	state := string(r.State)
	if state == "" {
		state = "(not recorded)"
	}
	// The error itself is reported once, when the run ends.
	fmt.Fprintf(w, "  %s %s%*s  %s%*s  %s\n", cliout.Paint(mark, st, color), r.ChangeID, width-utf8.RuneCountInString(r.ChangeID), "",
		cliout.Paint(state, st, color), len(audit.RollbackFailed)-len(state), "", cliout.Duration(r.Duration))
}

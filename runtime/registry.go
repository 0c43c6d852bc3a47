package runtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
)

// Recovery says what the next run does with a change that was left in an
// ambiguous or failed state.
type Recovery string

// The recovery strategies a change can declare.
const (
	// RecoveryManual blocks the change's stage until an operator records a
	// resolution. It is the default: a half-applied change needs a human.
	RecoveryManual Recovery = "manual"
	// RecoveryRetry re-applies the change on the next run. Use it for
	// changes that are idempotent.
	RecoveryRetry Recovery = "retry"
)

// DefaultTargetID is the target of changes that name none. Unless the
// application registers a target with this id, it is a non-transactional
// target that hands changes only the application's dependencies.
const DefaultTargetID = "default"

// Position is where a change is declared in source.
type Position struct {
	File string // path relative to the module root
	Line int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// ChangeFunc is the adapter the generator writes around a user's apply or
// rollback function: it resolves the function's parameters from deps and
// calls it directly.
type ChangeFunc func(ctx context.Context, deps *Deps) error

// Change is one declared change, as the generated registry describes it.
type Change struct {
	ID          string
	Order       string
	Author      string
	Description string
	// Target is the id of the target system the change applies to. Empty
	// means [DefaultTargetID].
	Target string
	// Transactional asks for the change to run inside a transaction of its
	// target when the target supports transactions.
	Transactional bool
	Recovery      Recovery
	// Checksum is a digest of the normalised source of the apply and
	// rollback functions.
	Checksum string
	Source   Position
	// Needs lists the types of the parameters after the context, in order.
	Needs []reflect.Type
	// Apply runs the change. Rollback, when not nil, undoes a failed
	// non-transactional change.
	Apply    ChangeFunc
	Rollback ChangeFunc
}

// Stage is the ordered changes of one Go package, as generated.
type Stage struct {
	// Name identifies the stage in the audit trail: by default the package
	// path.
	Name string
	// Fingerprint is a digest of the ids, orders and checksums of the
	// stage's changes.
	Fingerprint string
	Changes     []Change
}

// Pipeline is the ordered list of stages an application runs. Stages run in
// the order given; within a stage, changes run in their declared order.
type Pipeline []Stage

// NewPipeline composes stages, in order, into a pipeline.
func NewPipeline(stages ...Stage) Pipeline { return Pipeline(stages) }

// Validate checks what the generator cannot see: that ids are unique across
// stages of the pipeline.
func (p Pipeline) Validate() error {
	seen := map[string]string{}
	var errs []error
	for _, s := range p {
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("pipeline: a stage has no name"))
		}
		for _, c := range s.Changes {
			if prev, dup := seen[c.ID]; dup {
				errs = append(errs, fmt.Errorf("pipeline: change id %q is declared in stage %s (%s) and in stage %s", c.ID, prev, c.Source, s.Name))
				continue
			}
			seen[c.ID] = s.Name
			if c.Apply == nil {
				errs = append(errs, fmt.Errorf("pipeline: change %q (%s) has no apply function", c.ID, c.Source))
			}
		}
	}
	return errors.Join(errs...)
}

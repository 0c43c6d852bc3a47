package runtime

import (
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"

	"github.com/flamingock/flamingock-go/audit"
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
	// Needs lists the types of the parameters after the context, in order,
	// for a change built by hand around a [ChangeFunc]. Generated changes
	// leave it nil: their needs are Apply's (see [Change.NeedTypes]).
	Needs []reflect.Type
	// Apply runs the change. Rollback, when not nil, undoes a failed
	// non-transactional change, and is what [Runner.Undo] runs (in a
	// transaction of the target for a transactional change).
	Apply    Func
	Rollback Func
}

// NeedTypes returns the types the change's parameters are resolved by:
// Needs when set, else what Apply declares. Generated registries build
// these reflect.Types only here, when a change is validated before it
// runs, never when the registry is constructed.
func (c *Change) NeedTypes() []reflect.Type {
	if c.Needs != nil || c.Apply == nil {
		return c.Needs
	}
	return c.Apply.Needs()
}

// Stage is the ordered changes of one Go package, as generated.
type Stage struct {
	// Name identifies the stage in the audit trail: by default the package
	// path.
	Name string
	// Fingerprint is a digest of the ids, orders and checksums of the
	// stage's changes.
	Fingerprint string
	// Digest is the applied digest of the stage's changes: what an audit
	// store's [audit.AppliedDigest] holds when exactly these changes are
	// applied with these checksums. The generator computes it, so the
	// runner's up-to-date check combines one digest per stage instead of
	// hashing every change at startup. Left zero (a stage built by hand),
	// the runner computes it from Changes. [Pipeline.Validate] checks that
	// it matches Changes. The runner trusts it only while its count is the
	// number of Changes.
	Digest StageDigest
	// Changes is the stage's changes in order. A generated Stage returns
	// a slice of the registry's static table: treat it as read-only.
	Changes []Change
}

// StageDigest is the [audit.AppliedDigest] of a stage's changes.
type StageDigest = audit.AppliedDigest

// computeDigest hashes every change of s.
func (s *Stage) computeDigest() StageDigest {
	var d StageDigest
	for i := range s.Changes {
		d.Add(audit.ChangeDigest(s.Changes[i].ID, s.Changes[i].Checksum))
	}
	return d
}

// digest is s.Digest, or the digest of its changes when the stage carries
// none or one whose count is not the number of its changes (a stage built
// by hand, or a generated stage whose Changes were appended to or
// filtered): trusting it there could take a pending change for applied.
func (s *Stage) digest() StageDigest {
	if s.Digest.Count != int64(len(s.Changes)) {
		return s.computeDigest()
	}
	return s.Digest
}

// Pipeline is the ordered list of stages an application runs. Stages run in
// the order given; within a stage, changes run in their declared order.
type Pipeline []Stage

// NewPipeline composes stages, in order, into a pipeline.
func NewPipeline(stages ...Stage) Pipeline { return Pipeline(stages) }

// Validate checks what the generator cannot see: that ids are unique across
// stages of the pipeline, that every change has an apply function, and that
// each stage's recorded digest matches its changes. It reads every change;
// [New] leaves it to the first run that finds something pending, and to
// [Runner.Plan] and [Runner.Validate].
func (p Pipeline) Validate() error {
	seen := map[string]string{}
	var errs []error
	for si := range p {
		s := &p[si]
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("pipeline: a stage has no name"))
		}
		if s.Digest.Count != 0 {
			if want := s.computeDigest(); want != s.Digest {
				errs = append(errs, fmt.Errorf("pipeline: stage %s: its digest (%d changes, %s) does not match its changes (%d, %s): regenerate the registry with flamingock-gen",
					s.Name, s.Digest.Count, hex.EncodeToString(s.Digest.Sum[:]), want.Count, hex.EncodeToString(want.Sum[:])))
			}
		}
		for _, c := range s.Changes {
			if prev, dup := seen[c.ID]; dup {
				errs = append(errs, fmt.Errorf("pipeline: change id %q is declared in stage %s (%s) and in stage %s", c.ID, prev, c.Source, s.Name))
				continue
			}
			seen[c.ID] = s.Name
			if isNilFunc(c.Apply) {
				errs = append(errs, fmt.Errorf("pipeline: change %q (%s) has no apply function", c.ID, c.Source))
			}
		}
	}
	return errors.Join(errs...)
}

// isNilFunc reports whether f holds no function: a nil interface, or a
// nil function of a Func type (a hand-built change's nil ChangeFunc
// assigned to Rollback is not a nil interface).
func isNilFunc(f Func) bool {
	if f == nil {
		return true
	}
	v := reflect.ValueOf(f)
	return v.Kind() == reflect.Func && v.IsNil()
}

// Package runtime stands in for github.com/flamingock/flamingock-go/runtime
// in the analyzer's tests: just the registry types a flamingock_gen.go
// refers to, so test packages type-check without the real module.
package runtime

import "context"

type Recovery string

const (
	RecoveryManual Recovery = "manual"
	RecoveryRetry  Recovery = "retry"
)

type Deps struct{}

type ChangeFunc func(ctx context.Context, deps *Deps) error

type Change struct {
	ID, Order, Author, Description, Target string
	Transactional                          bool
	Recovery                               Recovery
	Checksum                               string
	Apply, Rollback                        any // ChangeFunc, a FuncN adapter or an SQLFile
}

type StageDigest struct {
	Count int64
	Sum   [16]byte
}

type Stage struct {
	Name, Fingerprint string
	Digest            StageDigest
	Changes           []Change
}

func Func0(fn func(context.Context) error) ChangeFunc { return nil }

func Func1[D1 any](fn func(context.Context, D1) error) ChangeFunc { return nil }

// SQLFile is a change written in an SQL file.
type SQLFile struct {
	Name, Path string
	Rollback   bool
}

func (SQLFile) Call(context.Context, *Deps) error { return nil }

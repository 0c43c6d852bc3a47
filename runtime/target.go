package runtime

import (
	"reflect"

	"github.com/flamingock/flamingock-go/targets"
)

// NewDependencyTarget returns a non-transactional target that hands its
// changes the given values, each under its dynamic type, plus what the
// application registers with [WithDependency]. A value of type
// func(*targets.Deps) is not provided but called, to provide values under
// types of its choosing (an interface type, with [targets.Provide]). Use it
// for systems without a dedicated target package (REST APIs, file systems,
// ...).
func NewDependencyTarget(id string, values ...any) targets.Target {
	return &dependencyTarget{id: id, values: values}
}

type dependencyTarget struct {
	id     string
	values []any
}

func (t *dependencyTarget) ID() string { return t.id }

func (t *dependencyTarget) Provide(d *targets.Deps) {
	for _, v := range t.values {
		if provide, ok := v.(func(*targets.Deps)); ok {
			provide(d)
			continue
		}
		if v != nil {
			_ = d.ProvideAs(reflect.TypeOf(v), v) // cannot fail: v has the type it is provided as
		}
	}
}

// lockTakeoverBlocker is implemented by a [targets.Tx] that, while open,
// keeps every other process from taking the audit store's lock: a SQLite
// write transaction on the database that also holds the lock row. The
// runner then pauses its lease heartbeat for the transaction's lifetime
// (the refresh could only wait for the transaction and time out), and the
// shared-transaction appender is expected to renew the lease inside the
// transaction when it records APPLIED. It is a detail between the runner
// and targets/sqltarget, not part of the target contract.
type lockTakeoverBlocker interface {
	BlocksLockTakeover() bool
}

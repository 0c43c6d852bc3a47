package sqltarget_test

import (
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/targets/sqltarget"
)

func newTarget(e *env, markerTable string) (*sqltarget.Target, error) {
	return sqltarget.New("db", e.targetDB, sqltarget.WithMarkerTable(markerTable))
}

type sqliteStore = sqlite.Store

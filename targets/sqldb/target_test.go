package sqldb_test

import (
	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/targets/sqldb"
)

func newTarget(e *env, markerTable string) (*sqldb.Target, error) {
	return sqldb.New("db", e.targetDB, sqldb.WithMarkerTable(markerTable))
}

type sqliteStore = sqlite.Store

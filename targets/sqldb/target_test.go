package sqldb_test

import "github.com/flamingock/flamingock-go/targets/sqldb"

func newTarget(e *env, markerTable string) (*sqldb.Target, error) {
	return sqldb.New("db", e.targetDB, sqldb.WithMarkerTable(markerTable))
}

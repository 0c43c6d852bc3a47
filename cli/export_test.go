package cli

import "time"

// SetCouchbaseWait shortens how long opening a Couchbase store waits for
// the bucket, so that tests of an unreachable cluster end quickly; it
// returns a function that restores the default.
func SetCouchbaseWait(d time.Duration) (restore func()) {
	prev := couchbaseWait
	couchbaseWait = d
	return func() { couchbaseWait = prev }
}

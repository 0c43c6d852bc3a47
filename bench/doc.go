// Command bench compares flamingock-go with goose (Provider API, Go-function
// migrations) and golang-migrate (pgx5 driver, SQL migrations) on one local
// PostgreSQL server, in one run, and prints markdown tables.
//
//	cd bench && go generate && go run . -url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// go generate writes the changes packages bench/changes/n10, n1000 and
// n10000 and their registries with flamingock-gen (they are not
// committed), so flamingock's registry is what an application has: the
// generated Stage() over a static table.
//
// It measures:
//
//   - a start with N changes applied and nothing pending, for N = 10,
//     1,000 and 10,000: build the tool from its registry and apply pending
//     changes (which finds none), on a fresh pool (a new pgxpool or
//     *sql.DB per start, connected by the start's first statement, as in
//     a new process) and on a reused pool (connected and warmed
//     beforehand);
//   - applying 1,000 trivial transactional changes (one INSERT each) to
//     an empty schema: time, round trips, heap allocations and WAL per
//     change.
//
// Within each repetition the tools run one after another, the first one
// rotating between repetitions, each timed operation after a runtime.GC();
// tables give medians and minimums, and ratios to goose of both. Each
// system works in its own fresh schema, dropped at the end. Round trips are
// counted by a pgx tracer (queries, batches and server-side prepares) and,
// for the apply, also on the wire, by a local proxy that counts the times
// the client speaks after the server answered, in an extra pass so the
// proxy's own latency never enters the timings.
//
// The bench is its own module so that the root module's go test ./... does
// not build goose, golang-migrate and their dependencies.
package main

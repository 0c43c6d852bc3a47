// Command bench compares flamingock-go with goose (Provider API, Go-function
// migrations) and golang-migrate (pgx5 driver, SQL migrations) on one local
// PostgreSQL server, in one run, and prints markdown tables.
//
//	cd bench && go run . -url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// It measures:
//
//   - startup with N changes applied and nothing pending, for several N:
//     building the tool from its in-memory definitions on a connected pool
//     and asking it to apply pending changes (which finds none); and the
//     same check repeated on an instance that already ran once;
//   - applying a number of trivial transactional changes (one INSERT each)
//     to an empty schema.
//
// Each system works in its own fresh schema, dropped at the end. Times are
// medians over repetitions; round trips are counted twice: by a pgx tracer
// (queries, batches and server-side prepares) and on the wire, by a local
// proxy that counts the times the client speaks after the server answered.
// The wire count sees what the tracer cannot (pings, a batch's implicit
// prepare); it is taken in an extra pass so the proxy's own latency never
// enters the timings.
//
// The bench is its own module so that the root module's go test ./... does
// not build goose, golang-migrate and their dependencies.
package main

// Package linkcheck holds only tests: they keep the packages an application
// links light. The runtime, the audit contract, the operations CLI and the
// SQLite store and target must not pull in the drivers and SDKs of other
// backends (gocb, pgx, gRPC, OpenTelemetry, the AWS SDK, franz-go, ...),
// and mounting the CLI must add little to an application's binary.
//
// The checks use `go list -deps` and `go build`, so they need the go
// command; the binary-size check is skipped with -short.
package linkcheck

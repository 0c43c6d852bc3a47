// Package cbtest gives tests a Couchbase cluster that speaks the real
// protocol: gocaves, the mock server the Couchbase SDK team tests its SDKs
// against.
//
// gocaves is not a library this module depends on. The first test package
// that needs it builds it from the Go module proxy (the module zip lacks two
// generated files, so the build copies the module, pins its client module and
// runs its generator step) into the user's cache folder,
// <cache>/flamingock-go/gocaves-v0.0.1-75/, under a file lock so that test
// packages running in parallel build it once. Later runs reuse the binary.
// Each test package then starts one gocaves process (--mock-only) the first
// time a test asks for it, and [Main] stops it when the package's tests end.
//
// To use a real cluster instead, set FLAMINGOCK_COUCHBASE_CONNSTR (and
// FLAMINGOCK_COUCHBASE_USER / FLAMINGOCK_COUCHBASE_PASSWORD when they are
// not Administrator / password); the bucket is "default".
//
// When gocaves cannot be built or started, tests that need it are skipped
// with the reason, except when the environment variable CI is "true": there
// they fail, so CI never passes by skipping.
//
// gocaves implements key-value and sub-document operations, expiry, CAS,
// scopes and collections, and KV transactions; it does not implement N1QL
// or KV range scans.
package cbtest

// Package pgtest gives tests an isolated schema on the local PostgreSQL
// server.
//
// The server's address comes from the environment variable
// FLAMINGOCK_POSTGRES_URL (default [DefaultURL]). Each call to [New] creates
// a fresh schema with a random name and drops it, with everything in it,
// when the test ends, so tests can run in parallel and leave nothing behind.
//
// When the server cannot be reached the test is skipped with a message that
// says how to start it, except when the environment variable CI is "true":
// there a missing server is a failure, so CI never passes by skipping.
package pgtest

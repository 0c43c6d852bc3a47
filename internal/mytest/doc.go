// Package mytest gives tests an isolated database on the local MySQL or
// MariaDB server.
//
// The server's address comes from the environment variable
// FLAMINGOCK_MYSQL_URL, a go-sql-driver/mysql DSN (default [DefaultDSN]).
// Each call to [New] creates a fresh database with a random name and drops
// it when the test ends, so tests can run in parallel and leave nothing
// behind.
//
// When the server cannot be reached the test is skipped with a message that
// says how to start it, except when the environment variable CI is "true":
// there a missing server is a failure, so CI never passes by skipping.
package mytest

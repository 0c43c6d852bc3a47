// Package accounts is the quickstart's first stage: the accounts table in
// the application's SQLite database. Its changes are transactional, and the
// audit store lives in the same database, so each change commits together
// with its audit entry.
package accounts

//go:generate go tool flamingock-gen

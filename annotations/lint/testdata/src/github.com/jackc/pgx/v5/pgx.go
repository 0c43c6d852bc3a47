// Package pgx stands in for github.com/jackc/pgx/v5: the analyzer matches
// its types by package path and name only.
package pgx

type Conn struct{}

type Tx interface{ Commit() error }

// Package pgxpool stands in for github.com/jackc/pgx/v5/pgxpool.
package pgxpool

type Pool struct{}

type Conn struct{}

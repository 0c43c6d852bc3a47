// Package orders is the second stage of the PostgreSQL example: orders
// that reference the catalog's products. It runs after the catalog stage.
package orders

//go:generate go tool flamingock-gen

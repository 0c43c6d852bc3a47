// Package annotations defines the //flamingock: comment directives that mark
// Go functions as changes and rollbacks, and holds the one parser shared by
// the generator and the linter.
package annotations

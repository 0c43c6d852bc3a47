// Package placement answers where a comment sits in a Go file — in the doc
// comment of which declaration, inside a function body — for the two tools
// that must agree on where a //flamingock: directive may go: the generator
// (internal/gen) and the analyzer (annotations/lint).
package placement

// Package rules holds the one set of rules for //flamingock: directives
// and the functions they mark — placement, build constraints, signatures,
// ids, orders and rollback pairing — over a package's syntax and types.
//
// The generator (internal/gen) and the analyzer (annotations/lint) both
// call [Check] and report what it finds through a callback, so the two
// tools reject the same code with the same messages at the same places;
// TestAnalyzerMatchesGenerator in annotations/lint holds them to it.
// Positions inside messages ("also declared at 0001_a.go:5:20") name the
// file by its base name: both places are in the one package directory.
package rules

// Package unidiff writes line-based unified diffs.
//
// The generator's -check and -diff modes show how a generated file on disk
// differs from what would be generated now. The standard library has no
// diff, and golang.org/x/tools keeps its own internal, so this package
// computes a shortest edit script (Myers' algorithm) over lines and prints
// it in the unified format that patch and code review tools read.
package unidiff

// Command flamingock-gen generates the typed registry of flamingock
// changes: one flamingock_gen.go per package that declares changes,
// exposing func Stage() flamingock.Stage.
// Run it with go generate, in a package of changes:
//
//	//go:generate go tool flamingock-gen
//
// Usage:
//
//	flamingock-gen [-check | -diff] [-tags list] [packages]
//
// A .go file argument (go generate's $GOFILE) stands for the package in
// its directory.
//
// Exit codes: 0 written (or current, with -check or -diff), 1 stale (with
// -check or -diff), 2 errors. The core lives in internal/gen; see
// docs/generator.md for what the file contains and every error reported.
package main

// Command flamingock-gen generates the typed registry of flamingock changes:
// one flamingock_gen.go per package that declares //flamingock:change
// functions. Run it with go generate:
//
//	//go:generate go tool flamingock-gen
//
// See docs/generator.md for flags, modes, exit codes and every error it
// reports.
package main

import (
	"os"

	"github.com/flamingock/flamingock-go/internal/gen"
)

func main() {
	os.Exit(gen.Main(os.Args[1:], os.Stdout, os.Stderr))
}

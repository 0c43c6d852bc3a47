package main

import (
	"os"

	"github.com/flamingock/flamingock-go/internal/gen"
)

func main() {
	os.Exit(gen.Main(os.Args[1:], os.Stdout, os.Stderr))
}

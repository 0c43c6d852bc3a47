// Command flamingock-vet runs the flamingock analyzer (package
// github.com/flamingock/flamingock-go/annotations/lint) over Go packages.
//
// Standalone, it takes package patterns and exits non-zero when it reports
// anything:
//
//	flamingock-vet ./...
//	flamingock-vet -fix ./...        # apply the suggested fixes
//
// It also serves as a vet tool, so "go vet" builds and caches the work:
//
//	go vet -vettool=$(which flamingock-vet) ./...
//
// docs/linting.md lists the checks and shows how to run them in CI.
package main

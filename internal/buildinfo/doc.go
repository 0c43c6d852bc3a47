// Package buildinfo says which flamingock-go a binary was built from: the
// module version, the commit and the Go toolchain, for `flamingock version`
// in the standalone and the mounted operations CLI.
//
// A release build stamps the version and commit with the linker
// (.ci/release does):
//
//	go build -ldflags "-X github.com/flamingock/flamingock-go/internal/buildinfo.version=v0.2.0 -X github.com/flamingock/flamingock-go/internal/buildinfo.commit=1a2b3c4" ./cmd/flamingock
//
// Without stamps the Go build information answers: the module version
// `go install …@v0.2.0` recorded (or the version of the flamingock-go
// dependency when the CLI is mounted in an application), and the VCS
// revision when the binary was built in a checkout with VCS stamping on.
package buildinfo

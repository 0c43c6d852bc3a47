// Package deploy holds example deployment manifests for an application that
// mounts the flamingock operations commands (kubernetes/), and the test that
// parses them, checks their fields and runs their commands against a real
// audit store. docs/deployment.md explains them.
//
// It is its own Go module so that the YAML parser the test needs is not a
// dependency of the root module.
package deploy

// Package gclplugin registers the flamingock analyzer as a golangci-lint
// module plugin named "flamingock".
//
// golangci-lint finds module plugins by their registration at init time,
// the one place this project registers anything globally: a custom
// golangci-lint binary built with "golangci-lint custom" imports this
// package for that side effect only. docs/linting.md has the
// .custom-gcl.yml and .golangci.yml that wire it up.
package gclplugin

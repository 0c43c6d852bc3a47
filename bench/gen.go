package main

// The changes packages are generated, not committed: run go generate in
// this directory once before go run . (and again after the generator
// changes).
//
//go:generate go run ./internal/writechanges -sizes 10,1000,10000

// Package outbox is the quickstart's stand-in for a system without
// transactions: messages are files in a directory.
package outbox

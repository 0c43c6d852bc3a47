// Package sqlimport turns a goose or golang-migrate migration directory
// into flamingock SQL-file changes: each migration becomes one file whose
// header carries the change directive, with the down migration as its
// rollback section. The result is returned in memory; flamingock-gen's
// import command writes it.
//
// It never loses a statement: for goose, whose statements are the lines up
// to one ending in ";" or a StatementBegin/End block, the statements of
// every converted section are compared with what the flamingock splitter
// finds in it, and a migration that would run differently is reported
// instead of converted.
package sqlimport

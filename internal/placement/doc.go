// Package placement decides where a //flamingock: directive may sit — in
// the doc comment of a top-level function, not on a method, a type, inside
// a body or detached — and words the messages when it may not, for the two
// tools that must agree on it: the generator (internal/gen) and the
// analyzer (annotations/lint).
package placement

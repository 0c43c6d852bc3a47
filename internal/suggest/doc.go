// Package suggest picks the name a user probably meant when the one given
// is unknown, for the "did you mean" of error messages.
package suggest

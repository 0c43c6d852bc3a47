// want package:"flamingock ids well-formed"

// Package directive has malformed directives, each with the fix the
// analyzer suggests where one is mechanical.
package directive

import "context"

// want +2 `change "misspelt-key": unknown key "ordr" in change directive \(did you mean "order"\?\)`
//
//flamingock:change id=misspelt-key ordr=1
func MisspeltKey(ctx context.Context) error { return nil }

// Spaced holds its directive in its body, where gofmt leaves comments as
// they are (in a doc comment, gofmt would insert a space after "//").
func Spaced(ctx context.Context) error {
	// want +1 `unexpected space after "//flamingock:": write "//flamingock:change"`
	//flamingock: change id=spaced order=2
	return nil
}

// want +2 `unknown flamingock directive "chnage" \(did you mean "change"\?\)`
//
//flamingock:chnage id=misspelt-verb order=3
func MisspeltVerb(ctx context.Context) error { return nil }

// want +2 `unknown flamingock directive "changeid=glued" \(did you mean "change" followed by a space\?\)`
//
//flamingock:changeid=glued order=4
func Glued(ctx context.Context) error { return nil }

// want +2 `rollback of "spaced": rollback directive takes the change id alone`
//
//flamingock:rollback id=spaced
func UndoSpaced(ctx context.Context) error { return nil }

// No fix is mechanical for these: the analyzer reports them and leaves the
// text alone.

// want +2 `change directive is missing the required key "id"`
//
//flamingock:change order=5
func NoID(ctx context.Context) error { return nil }

// want +2 `change "bad-value": invalid value "maybe" for key "transactional": want true or false`
//
//flamingock:change id=bad-value order=6 transactional=maybe
func BadValue(ctx context.Context) error { return nil }

// want +2 `change "no-key": unknown key "zzzzzz" in change directive: known keys are`
//
//flamingock:change id=no-key order=7 zzzzzz=1
func NoSuggestion(ctx context.Context) error { return nil }

// WellFormed passes: its directive parses cleanly.
//
//flamingock:change id=well-formed order=8 author=alice description="a valid one"
func WellFormed(ctx context.Context) error { return nil }

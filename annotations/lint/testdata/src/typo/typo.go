// Package typo has comments that look like directives but are ordinary
// comments, which flamingock-gen would silently skip were it not for
// annotations.LikelyTypo. Prose in a package doc that wraps before a
// //flamingock:change directive is not mistaken for one.
package typo

import "context"

// want +1 `looks like a flamingock directive but is an ordinary comment, so it is ignored: remove the space after "//"`
// flamingock:change id=spaced order=1
func Spaced(ctx context.Context) error { return nil }

// want +1 `write "flamingock" in lowercase`
// Flamingock:change id=capital order=2
func Capital(ctx context.Context) error { return nil }

// want +1 `put ":" right after "flamingock"`
// flamingock change id=no-colon order=3
func NoColon(ctx context.Context) error { return nil }

// want +1 `use a line comment, not /\* \*/`
/* flamingock:change id=block order=4 */
func Block(ctx context.Context) error { return nil }

// want +2 `remove the space after "//"; remove the space after ":"`
//
// flamingock: change id=gofmt order=5
func Gofmt(ctx context.Context) error { return nil }

// Prose passes: it mentions flamingock:change in a sentence, and
// flamingock: change directives take keys, says this line, and the
// flamingock change directives in general; none of it is a directive.
func Prose(ctx context.Context) error { return nil }

// Documented passes: the doc comment shows directives in a code block,
// where they are examples.
//
//	// flamingock:change id=example order=1
//	//Flamingock:change id=example order=1
//	//flamingock:change id=example order=1
func Documented(ctx context.Context) error { return nil }

func Body(ctx context.Context) error {
	// A misspelt directive away from a function doc comment is reported
	// when the rewritten comment is a flawless directive.
	// want +1 `remove the space after "//"`
	// flamingock:change id=in-body order=9
	return nil
}

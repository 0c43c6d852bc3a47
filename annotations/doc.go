// Package annotations defines the //flamingock: comment directives that mark
// Go functions as changes and rollbacks, and holds the one parser of them,
// shared by the generator (cmd/flamingock-gen) and the linter, so both
// accept and reject exactly the same text with the same messages. This
// comment is the normative specification of the grammar; docs/directives.md
// is the user reference.
//
// The package imports only the standard library.
//
// # Where directives go
//
// A directive is one line comment that starts with [Prefix], "//flamingock:",
// with no space after "//" and in lowercase. Written that way, go/ast treats
// it as a directive comment: godoc hides it and gofmt keeps it on the last
// line of the function's doc comment. Callers read directives from
// ast.FuncDecl.Doc.List (CommentGroup.Text drops them) and pass each
// ast.Comment's Text to [Parse].
//
//	// CreateUsers creates the users table.
//	//
//	//flamingock:change id=create-users order=0001 author=alice target=users-db
//	func CreateUsers(ctx context.Context, tx pgx.Tx) error { ... }
//
//	// DropUsers undoes CreateUsers.
//	//
//	//flamingock:rollback create-users
//	func DropUsers(ctx context.Context, tx pgx.Tx) error { ... }
//
// A comment that does not start with [Prefix] is not a directive: [Parse]
// returns ok == false for it and reports nothing. [LikelyTypo] tells such a
// comment apart when it looks like a misspelt directive ("// flamingock:",
// "//Flamingock:", "//flamingok:", "//flamingock change", "/* flamingock:
// */"), so tools can warn instead of silently ignoring it. Everything that
// does start with [Prefix] is a directive, and is parsed and checked in
// full: an unknown verb is an error, not an ordinary comment.
//
// # Grammar
//
// In the grammar below, space is one or more spaces or tabs (carriage
// returns and newlines count as spaces too, though a line comment holds
// none).
//
//	directive = "//flamingock:" verb [ space args ] [ space ] .
//	verb      = "change" | "rollback" .
//	change    = "//flamingock:change" { space key "=" value } [ space ] .
//	rollback  = "//flamingock:rollback" space value [ space ] .
//	key       = "id" | "order" | "author" | "target" | "transactional"
//	          | "recovery" | "description" .
//	value     = bare | quoted .
//	bare      = any bytes except space, '"' and '=', at least one .
//	quoted    = a double-quoted Go string literal, read by strconv.Unquote .
//
// The verb follows the colon directly and is lowercase. Keys are lowercase
// and may come in any order; each may appear once. "key=value" has no space
// on either side of "=". A value that holds a space, a '"' or an '=' must be
// quoted: description="Create the users table". Inside quotes the Go escape
// sequences apply (\" \\ \t \n \u00e9 ...); raw `backquoted` strings are not
// supported. Text glued to a closing quote is an error, so pairs are always
// separated by space.
//
// # The change directive
//
//	//flamingock:change id=<id> [order=<order>] [author=<text>] [target=<text>]
//	                    [transactional=true|false] [recovery=manual|retry]
//	                    [description=<text>]
//
// (one line in source; wrapped here for reading). The keys:
//
//   - id (required): the change's id, unique across the whole pipeline and
//     stable forever, since the audit trail records changes by id. Rules:
//     see [ValidateID].
//   - order (optional): where the change runs within its stage. Rules: see
//     [ValidateOrder]; orders compare by [CompareOrders]. When order is
//     absent, the order comes from the file name prefix (see
//     [OrderFromFileName]); when neither exists the generator reports the
//     error, not this parser. When both exist, the generator requires them
//     to compare equal. Two changes whose orders compare equal
//     ("1" and "0001") collide; that too is a generator error.
//   - author (optional): who wrote the change, recorded in the audit trail.
//   - target (optional): the id of the target system the change applies to,
//     as registered by the application. Absent means the target with id
//     "default".
//   - transactional (optional, default true): true or false. When true and
//     the target supports transactions, the change and its audit marker
//     commit together; false runs the change outside a transaction.
//   - recovery (optional, default manual): manual or retry. What the next
//     run does with a change left failed or with an unknown outcome: manual
//     reports it as an issue and blocks its stage until an operator records
//     a resolution; retry applies it again (for idempotent changes).
//   - description (optional): free text, recorded in the audit trail.
//
// author, target and description may hold any text, but not the empty
// string: leave the key out instead of writing author="".
//
// # The rollback directive
//
//	//flamingock:rollback <change-id>
//
// takes exactly one positional value: the id of the change the function
// undoes (quoting it is allowed but never needed, since ids hold no
// spaces). It takes no keys; "//flamingock:rollback id=x" is an error that
// says to drop "id=". Whether that change exists is checked by the
// generator.
//
// # Ids and orders
//
// Ids and orders start with an ASCII letter or digit and continue with
// ASCII letters, digits, '.', '_' and '-'; ids are at most 128 bytes
// ([MaxIDLen]), orders at most 64 ([MaxOrderLen]). Orders compare
// naturally: runs of digits compare as numbers with leading zeros ignored,
// other runs bytewise, so "2" < "10", "1.2" < "1.10", "2024-01-15" <
// "2024-02-01", and "0001" collides with "1". A file named
// "0001_create_users.go" gives its changes order "0001" when they have no
// order key; file names starting with '_' or '.' are ignored by the go tool
// and so cannot carry an order.
//
// # Errors
//
// [Parse] reports every problem in a directive, each as an [*Error] at the
// byte offset within the comment text where the problem starts; a caller
// adds the comment's column to get the column of the problem. Problems at
// the whole directive (a missing id, an empty change directive, a rollback
// without an id) are at offset 0. The messages, with %q standing for the
// offending text:
//
//	empty flamingock directive: write "//flamingock:change" or "//flamingock:rollback"
//	unexpected space after "//flamingock:": write "//flamingock:change"
//	expected "change" or "rollback" right after "//flamingock:", found a space
//	unknown flamingock directive %q (did you mean "change"?)
//	unknown flamingock directive %q (did you mean "change" followed by a space?)
//	unknown flamingock directive %q: want "change" or "rollback"
//	empty change directive: the key "id" is required, as in "//flamingock:change id=create-users"
//	change directive is missing the required key "id"
//	unknown key %q in change directive (did you mean "order"?)
//	unknown key %q in change directive: known keys are id, order, author, target, transactional, recovery, description
//	duplicate key %q in change directive: each key may appear once
//	missing "=" after key "id": write id=<value>
//	expected key=value, found %q
//	missing key before "="
//	missing value for key "id"
//	unterminated quoted value for key "description": add the closing '"'
//	invalid escape sequence in the quoted value for key "description"
//	unexpected text after the quoted value for key "description": separate key=value pairs with a space
//	unexpected '"' in the value for key "author": quote the whole value, as in key="some value"
//	unexpected "=" in the value for key "id": separate key=value pairs with a space, or quote a value that contains "="
//	empty value for key "author": leave the key out instead
//	invalid id %q: must not be empty
//	invalid id %q: must start with an ASCII letter or digit, not '-'
//	invalid id %q: contains '!' at byte 12; only ASCII letters, digits, '.', '_' and '-' are allowed
//	invalid id: is 129 bytes long; the maximum is 128; it starts "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... (values longer than 40 bytes are cut)
//	invalid order %q: ... (the same reasons as for ids; the maximum is 64)
//	invalid value %q for key "transactional": want true or false
//	invalid value %q for key "recovery": want manual or retry
//	rollback directive is missing the id of the change it undoes, as in "//flamingock:rollback create-users"
//	rollback directive takes the change id alone: write "//flamingock:rollback create-users", without "id="
//	unexpected %q after the change id: a rollback directive takes exactly one change id
//	unterminated quoted value for the change id: add the closing '"'
//
// A suggestion ("did you mean") is offered when a known verb or key is
// within edit distance 2 of what was written, compared case-insensitively,
// counting a swap of two adjacent letters as one edit.
//
// # Canonical form
//
// [Format] writes a directive back in canonical form: keys in the order
// listed above, defaults and empty values left out, values quoted only when
// they must be or when they hold a backslash, control or non-printable
// character. Parse(Format(d)) yields d for every directive Parse accepts
// without errors (key offsets aside); the package's fuzz test checks this.
package annotations

// Package lint is a go/analysis analyzer for flamingock change
// declarations: the //flamingock:change and //flamingock:rollback
// directives, parsed by the one shared parser in package
// [github.com/flamingock/flamingock-go/annotations], and the functions they
// mark. It reports in an editor or in CI what flamingock-gen would reject,
// without running the generator, plus a few mistakes the generator accepts.
//
// Run it with cmd/flamingock-vet (standalone, or as
// "go vet -vettool=$(which flamingock-vet)"), or inside golangci-lint
// through the module plugin in package gclplugin; docs/linting.md shows
// each.
//
// # Checks
//
// Every diagnostic carries the name of its check as its category.
// Diagnostics marked "error" are problems flamingock-gen also refuses;
// "warning" marks code the generator accepts but that is likely wrong.
//
//   - directive (error): a //flamingock: comment the parser rejects:
//     unknown verb or key, missing or duplicate key, malformed value, a
//     space after the colon. Reported at the offending byte. Suggested
//     fixes: remove the space after "//flamingock:", replace a misspelt
//     verb or key with the parser's suggestion ("ordr" becomes "order"),
//     separate a verb glued to its first key, drop "id=" from a rollback.
//   - typo (error): an ordinary comment that looks like a directive
//     ([annotations.LikelyTypo]): "// flamingock:change" with a space after
//     "//", "//Flamingock:change", "//flamingock change", a block comment.
//     In a function's doc comment it is always reported, as flamingock-gen
//     does; elsewhere (package docs, type docs, bodies) only when the
//     rewritten comment is a flawless directive, so that prose wrapping
//     before "//flamingock:change directives" passes. (warning) A doc
//     comment line "// flamingock: change id=x": what gofmt makes of
//     "//flamingock: change id=x", which the generator skips as prose.
//     Suggested fix: rewrite a line comment into the directive when the
//     result parses.
//   - placement (error): a directive on a method, a type, a var, a const or
//     an import, inside a function body, detached from any declaration, a
//     second directive on one function; (warning) a directive in a _test.go
//     file, which the generator never reads.
//   - signature (error): a change or rollback function must be
//     func(context.Context, deps...) error: context.Context first, exactly
//     one result of type error, not variadic, not generic.
//   - duplicate (error): two changes of the package with the same id, or
//     with orders that compare equal ([annotations.CompareOrders]: "1" and
//     "001" collide); a change id that a changes package this package
//     imports already declares (see Facts below).
//   - order (error): a change with no order= and no numeric file-name
//     prefix ([annotations.OrderFromFileName]), or an order= that differs
//     from the file-name prefix.
//   - rollback (error): a rollback whose change is not declared in the
//     package, a second rollback of one change, or a rollback whose
//     parameter types differ from its change's.
//   - norollback (warning): a change with transactional=false and no
//     rollback. With the -require-rollback flag (off by default; for
//     projects that undo applied changes with Runner.Undo, which refuses a
//     change without a rollback), every change without a rollback,
//     transactional ones included. Suggested fix: declare that it has none
//     (see Silencing).
//   - txescape (warning): a transactional change (the default) that takes
//     *sql.DB or *sql.Conn (database/sql), *pgxpool.Pool or *pgxpool.Conn
//     (github.com/jackc/pgx/v5/pgxpool), or *pgx.Conn
//     (github.com/jackc/pgx/v5): writes through such a handle commit on
//     their own and survive the change's rollback. Types are matched by
//     package path and name; the analyzer imports no driver.
//   - ignore (warning): an [IgnorePrefix] comment with an unknown check
//     name, or one that silences nothing.
//   - generated (warning): run last, and only when no error above was
//     reported (the generator would refuse the package anyway): a package
//     with changes and no flamingock_gen.go; a flamingock_gen.go in a
//     package without changes; a flamingock_gen.go whose registry differs
//     from the directives (a change missing or extra, or a different
//     order, author, description, target, transactional, recovery, apply
//     or rollback function, or a checksum that differs from the one
//     flamingock-gen computes from the functions' source, so an edit inside
//     a change's body is caught as "flamingock-gen -check" catches it).
//     The comparison reads the registry entries of the generated file's
//     syntax.
//
// # Silencing
//
// The two warnings about code the generator accepts, norollback and
// txescape, can be silenced for one change by a line in its doc comment:
//
//	//flamingock:change id=send-welcome-mail transactional=false
//	//flamingocklint:ignore norollback a sent mail cannot be unsent
//	func SendWelcomeMail(ctx context.Context, m *Mailer) error
//
// The words after the check name are free text for the reader. This is a
// comment of its own rather than a //flamingock: directive, because the
// directive grammar is shared with the generator, which rejects verbs it
// does not know.
//
// # Facts
//
// A package that declares changes exports a package fact listing its
// ids. Facts flow along imports only, so a duplicate id is caught across
// packages when one changes package imports the other, directly or not.
// Two unrelated packages that reuse an id are caught by flamingock-gen,
// which sees every package of one invocation at once.
package lint

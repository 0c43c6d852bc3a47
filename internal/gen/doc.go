// Package gen is the core of flamingock-gen, the code generator that turns
// functions marked with //flamingock: directives into a typed registry.
//
// It runs in these steps, each in its own file, and a shortcut:
//
//   - load.go loads the requested packages with golang.org/x/tools/go/packages,
//     syntax and types only (no dependency syntax), so the cost stays close to
//     type-checking the packages themselves;
//   - check.go applies the rules shared with the analyzer (package
//     internal/rules: placement, build constraints, signatures, orders,
//     rollbacks) to the files as written and builds the model ([Package],
//     [Change]);
//   - emit.go renders one flamingock_gen.go per package with
//     github.com/dave/jennifer: a static table of the changes and the
//     stage's applied digest (typeexpr.go turns go/types types into
//     jennifer code and chooses the import names);
//   - digest.go gives every generated file a digest line, from which a run
//     tells that a file is current without rendering it;
//   - verify.go type-checks every rendered file with its package before
//     anything is written, and reports the user's declarations that clash
//     with it.
//
// [Generate] returns the files in memory together with every problem found,
// so writing, checking and diffing ([Write], [Stale]) are thin consumers of
// its result, and [Main] is the whole command line, callable in-process.
package gen

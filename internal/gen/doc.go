// Package gen is the core of flamingock-gen, the code generator that turns
// functions marked with //flamingock: directives into a typed registry.
//
// It runs in four steps, each in its own file, and a shortcut:
//
//   - load.go loads the requested packages with golang.org/x/tools/go/packages,
//     syntax and types only (no dependency syntax), so the cost stays close to
//     type-checking the packages themselves;
//   - scan.go finds directives in the doc comments of functions, parsed by
//     the one shared parser in package annotations, and reports directives
//     anywhere else;
//   - check.go checks signatures with go/types, derives orders, pairs
//     rollbacks with their changes and builds the model ([Package], [Change]);
//   - emit.go renders one flamingock_gen.go per package with
//     github.com/dave/jennifer: a static table of the changes and the
//     stage's applied digest (typeexpr.go turns go/types types into
//     jennifer code and chooses the import names);
//   - digest.go gives every generated file a digest line, from which a run
//     tells that a file is current without rendering it.
//
// [Generate] returns the files in memory together with every problem found,
// so writing, checking and diffing ([Write], [Stale]) are thin consumers of
// its result, and [Main] is the whole command line, callable in-process.
package gen

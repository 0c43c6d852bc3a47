package gen

import (
	"go/ast"
	"go/token"
	"go/types"
)

// Package is the model of one package that declares changes: everything
// emission needs, and nothing it has to look up again.
type Package struct {
	Path string // import path; also the stage name
	Name string // package name
	Dir  string // absolute directory, where the generated file goes

	// Types is the type-checked package.
	Types *types.Package

	// Declared lists the package-level names the user's files declare
	// (the earlier generated file excluded): names the generated file
	// must not reuse.
	Declared map[string]bool

	// Changes are sorted by order (annotations.CompareOrders).
	Changes []*Change

	// Fingerprint is "sha256:<hex>" over the ordered (id, order, checksum)
	// list.
	Fingerprint string
}

// Change is one //flamingock:change function, with its rollback if any.
type Change struct {
	ID            string
	Order         string
	Author        string
	Description   string
	Target        string
	Transactional bool
	Recovery      string // "manual" or "retry"

	// Checksum is "sha256:<hex>" of the normalised source of Apply and
	// Rollback.
	Checksum string

	// File is the declaring file relative to the module root, with forward
	// slashes; Line is the line of the func keyword.
	File string
	Line int

	// Needs are the types of the parameters after the context, in order
	// (the registry takes them from Apply's FuncN type arguments).
	Needs []types.Type

	Apply    *Func
	Rollback *Func // nil when the change has no rollback

	// SQL is set, and Apply and Rollback are nil, for a change written as
	// an SQL file.
	SQL *SQLSource

	// Pos is where the directive starts; OrderPos points at the order
	// (the order= key, or the directive when the order came from the file
	// name); IDPos at the id= key. Errors about the change point there.
	Pos, OrderPos, IDPos token.Position
}

// Func is a user function the registry calls.
type Func struct {
	Name string
	Pos  token.Position // of the function name
	// Params are all parameter types, the context first.
	Params []types.Type

	decl *ast.FuncDecl // for the checksum
}

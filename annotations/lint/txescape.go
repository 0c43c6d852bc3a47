package lint

import (
	"fmt"
	"go/ast"
	"go/types"
)

// escapingHandle is a dependency type that reaches a database outside any
// transaction the runtime opens for a change, with the type to ask for
// instead.
type escapingHandle struct {
	path, name string // the pointer's element type
	instead    string
}

// escapingHandles are matched by package path and name, so the analyzer
// needs none of these drivers to run.
var escapingHandles = []escapingHandle{
	{"database/sql", "DB", "*sql.Tx"},
	{"database/sql", "Conn", "*sql.Tx"},
	{"github.com/jackc/pgx/v5/pgxpool", "Pool", "pgx.Tx"},
	{"github.com/jackc/pgx/v5/pgxpool", "Conn", "pgx.Tx"},
	{"github.com/jackc/pgx/v5", "Conn", "pgx.Tx"},
}

// escapingHandleOf returns the handle t is a pointer to, if any.
func escapingHandleOf(t types.Type) (escapingHandle, bool) {
	p, ok := types.Unalias(t).(*types.Pointer)
	if !ok {
		return escapingHandle{}, false
	}
	for _, h := range escapingHandles {
		if isNamed(p.Elem(), h.path, h.name) {
			return h, true
		}
	}
	return escapingHandle{}, false
}

// txEscape warns about transactional changes that take a handle to a
// database outside their transaction: what the change writes through it
// commits on its own, and stays when the transaction rolls back.
func (c *checker) txEscape(changes []*change) {
	for _, ch := range changes {
		if !ch.Directive.Change.Transactional || ch.Params == nil {
			continue
		}
		exprs := paramExprs(ch.Func)
		for i, t := range ch.Params[1:] {
			h, escapes := escapingHandleOf(t)
			if !escapes || c.silenced(ch, catTxEscape) {
				continue
			}
			c.report(exprs[i+1].Pos(), catTxEscape, false,
				fmt.Sprintf("%s%s is transactional but takes %s, which writes outside the change's transaction and is not undone when it rolls back; take %s instead, or set transactional=false",
					ch.Who(), ch.Func.Name.Name, c.typeString(t), h.instead))
		}
	}
}

// paramExprs returns the type expression of each parameter, one per
// parameter even where several share a type (a, b *sql.Tx).
func paramExprs(fn *ast.FuncDecl) []ast.Expr {
	var exprs []ast.Expr
	for _, f := range fn.Type.Params.List {
		for range max(len(f.Names), 1) {
			exprs = append(exprs, f.Type)
		}
	}
	return exprs
}

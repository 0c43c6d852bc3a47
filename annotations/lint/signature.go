package lint

import (
	"go/types"

	"github.com/flamingock/flamingock-go/internal/rules"
)

// isNamed reports whether t is the named type path.name (through aliases).
func isNamed(t types.Type, path, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == path && n.Obj().Name() == name
}

// typeString writes t as it would appear in the package's own source.
func (c *checker) typeString(t types.Type) string { return rules.TypeString(c.pass.Pkg, t) }

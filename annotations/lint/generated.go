package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/internal/gen"
)

// registered is what flamingock_gen.go says about one change.
type registered struct {
	fields map[string]string // ID, Order, Author, Description, Target, Transactional, Recovery, Apply, Rollback
}

// compared lists the fields of a registry entry the directives determine,
// in the order they are reported.
var compared = []string{"Order", "Author", "Description", "Target", "Transactional", "Recovery", "Apply", "Rollback", "Checksum"}

// generated reports a flamingock_gen.go that is missing, left over, or
// out of date with the directives.
//
// It compares what the directives declare (ids, orders, the other keys,
// and which functions apply and roll back each change) with the registry
// entries of the generated file, read from its syntax, and the checksum of
// each change's functions, computed as flamingock-gen computes it: an edit
// to a change's body is caught here as by "flamingock-gen -check".
func (c *checker) generated(changes []*change, genFile *ast.File) {
	switch {
	case genFile == nil && len(changes) > 0:
		if !c.generatedIgnored() {
			c.report(changes[0].Comment.Slash, catGenerated, false, fmt.Sprintf(
				"package %s declares changes but has no %s; run flamingock-gen (go generate) in its directory", c.pass.Pkg.Name(), generatedName))
		}
		return
	case genFile == nil:
		return
	case len(changes) == 0:
		c.report(genFile.Package, catGenerated, false, fmt.Sprintf(
			"%s is left over: package %s declares no changes; run flamingock-gen (go generate) to remove it", generatedName, c.pass.Pkg.Name()))
		return
	}
	entries, ok := registryEntries(genFile)
	if !ok {
		c.report(changes[0].Comment.Slash, catGenerated, false, fmt.Sprintf(
			"%s does not have the shape flamingock-gen writes (no Stage function listing Changes); run flamingock-gen (go generate)", generatedName))
		return
	}
	byID := map[string]registered{}
	for _, e := range entries {
		byID[e.fields["ID"]] = e
	}
	declared := map[string]bool{}
	for _, ch := range changes {
		declared[ch.ID] = true
		e, listed := byID[ch.ID]
		if !listed {
			c.report(ch.Comment.Slash, catGenerated, false, fmt.Sprintf(
				"%s%s is out of date: it does not list this change; run flamingock-gen (go generate)", ch.Who(), generatedName))
			continue
		}
		if diffs := c.registryDiffs(ch, e); len(diffs) > 0 {
			c.report(ch.Comment.Slash, catGenerated, false, fmt.Sprintf(
				"%s%s is out of date: %s; run flamingock-gen (go generate)", ch.Who(), generatedName, strings.Join(diffs, ", ")))
		}
	}
	for _, e := range entries {
		if id := e.fields["ID"]; !declared[id] && e.fields["Apply"] != sqlFileEntry {
			c.report(changes[0].Comment.Slash, catGenerated, false, fmt.Sprintf(
				"%s is out of date: it lists change %q, which package %s no longer declares; run flamingock-gen (go generate)", generatedName, id, c.pass.Pkg.Name()))
		}
	}
}

// generatedIgnored reports whether the build left flamingock_gen.go out
// (a build tag), in which case its absence from the files says nothing.
func (c *checker) generatedIgnored() bool {
	for _, name := range c.pass.IgnoredFiles {
		if strings.HasSuffix(name, "/"+generatedName) || name == generatedName {
			return true
		}
	}
	return false
}

// registryDiffs describes how a registry entry differs from the change
// that the directives declare, one phrase per differing field.
func (c *checker) registryDiffs(ch *change, e registered) []string {
	spec := ch.Directive.Change
	want := map[string]string{
		"Order":         ch.Order,
		"Author":        spec.Author,
		"Description":   spec.Description,
		"Target":        spec.Target,
		"Transactional": strconv.FormatBool(spec.Transactional),
		"Recovery":      spec.Recovery,
		"Apply":         ch.Func.Name.Name,
		"Rollback":      "",
	}
	if want["Recovery"] == "" {
		want["Recovery"] = annotations.RecoveryManual
	}
	var rollback *ast.FuncDecl
	if ch.Rollback != nil {
		want["Rollback"] = ch.Rollback.Func.Name.Name
		rollback = ch.Rollback.Func
	}
	if _, recorded := e.fields["Checksum"]; recorded {
		want["Checksum"] = gen.Checksum(c.pass.Fset, ch.Func, rollback)
	}
	var diffs []string
	for _, field := range compared {
		have := e.fields[field]
		switch {
		case have == want[field] || have == unknownFunc:
		case field == "Checksum":
			diffs = append(diffs, "the checksum differs: the source of "+ch.Func.Name.Name+" or of its rollback changed since it was generated")
		default:
			diffs = append(diffs, fmt.Sprintf("%s is %s there but %s in the source", strings.ToLower(field), shown(have), shown(want[field])))
		}
	}
	return diffs
}

func shown(v string) string {
	if v == "" {
		return "unset"
	}
	return strconv.Quote(v)
}

// registryEntries reads the runtime.Change literals of a generated file,
// in the Stage function or in a package-level variable: those written
// with their type and the elements of a []runtime.Change or
// [...]runtime.Change literal, the forms the generator has used. ok is
// false when the file has no Stage function or no entry.
func registryEntries(f *ast.File) (entries []registered, ok bool) {
	funcs := map[string]*ast.FuncDecl{}
	for _, decl := range f.Decls {
		if fn, isFunc := decl.(*ast.FuncDecl); isFunc && fn.Recv == nil && fn.Body != nil {
			funcs[fn.Name.Name] = fn
		}
	}
	stage := funcs["Stage"]
	if stage == nil {
		return nil, false
	}
	// The entries are in Stage's body, or (today's layout) in a
	// package-level table that Stage returns a slice of.
	scopes := []ast.Node{stage.Body}
	for _, decl := range f.Decls {
		if gd, isGen := decl.(*ast.GenDecl); isGen && gd.Tok == token.VAR {
			scopes = append(scopes, gd)
		}
	}
	for _, scope := range scopes {
		entries = appendEntries(entries, scope, funcs)
	}
	return entries, len(entries) > 0
}

// appendEntries appends the registry entries written inside n.
func appendEntries(entries []registered, n ast.Node, funcs map[string]*ast.FuncDecl) []registered {
	ast.Inspect(n, func(n ast.Node) bool {
		lit, isLit := n.(*ast.CompositeLit)
		if !isLit {
			return true
		}
		if isChangeType(lit.Type) {
			entries = append(entries, entry(lit, funcs))
			return false
		}
		if arr, isArr := lit.Type.(*ast.ArrayType); isArr && isChangeType(arr.Elt) {
			for _, elt := range lit.Elts {
				if e, isLit := elt.(*ast.CompositeLit); isLit {
					entries = append(entries, entry(e, funcs))
				}
			}
			return false
		}
		return true
	})
	return entries
}

// isChangeType reports whether x names the runtime's Change type, as
// flamingock.Change under whatever import name.
func isChangeType(x ast.Expr) bool {
	sel, ok := x.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Change"
}

// entry reads the keyed fields of one registry entry. funcs are the
// top-level functions of the generated file, through which an entry may
// call the user's function.
func entry(lit *ast.CompositeLit, funcs map[string]*ast.FuncDecl) registered {
	e := registered{fields: map[string]string{"Transactional": "false", "Recovery": annotations.RecoveryManual}}
	for _, elt := range lit.Elts {
		if kv, isKV := elt.(*ast.KeyValueExpr); isKV {
			if key, isID := kv.Key.(*ast.Ident); isID {
				e.fields[key.Name] = fieldValue(kv.Value, funcs)
			}
		}
	}
	return e
}

// sqlFileEntry is the Apply value of a change written in an SQL file. The
// analyzer reads Go only: such entries are checked by flamingock-gen -check,
// not here, and are not "changes the package no longer declares".
const sqlFileEntry = "sqlfile"

// unknownFunc stands for an Apply or Rollback value whose user function
// cannot be told from the syntax; it is not compared.
const unknownFunc = "?"

// fieldValue renders the value of one field of a registry entry: the text
// of a literal, the lowercase strategy of a recovery constant, or the user
// function that an Apply or Rollback value calls.
func fieldValue(x ast.Expr, funcs map[string]*ast.FuncDecl) string {
	switch x := x.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(x.Value); err == nil {
			return s
		}
		return x.Value
	case *ast.Ident: // true, false, or a function
		if fn := funcs[x.Name]; fn != nil {
			return calledFunc(fn.Body) // an adapter written as a named function
		}
		return x.Name
	case *ast.SelectorExpr: // flamingock.RecoveryRetry
		return strings.ToLower(strings.TrimPrefix(x.Sel.Name, "Recovery"))
	case *ast.FuncLit:
		return calledFunc(x.Body)
	case *ast.CompositeLit: // flamingock.SQLFile{...}: a change written in SQL
		if sel, ok := x.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "SQLFile" {
			return sqlFileEntry
		}
	case *ast.CallExpr: // flamingock.Func1[*sql.Tx](CreateUsers): a typed adapter around the user function
		if len(x.Args) == 1 {
			if id, ok := x.Args[0].(*ast.Ident); ok {
				return fieldValue(id, funcs)
			}
		}
	}
	return unknownFunc
}

// calledFunc returns the name of the function an adapter's final return
// statement calls: the user function the registry runs.
func calledFunc(body *ast.BlockStmt) string {
	if n := len(body.List); n > 0 {
		if ret, ok := body.List[n-1].(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
			if call, ok := ret.Results[0].(*ast.CallExpr); ok {
				if id, ok := call.Fun.(*ast.Ident); ok {
					return id.Name
				}
			}
		}
	}
	return unknownFunc
}

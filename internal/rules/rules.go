package rules

import (
	"bytes"
	"cmp"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/internal/placement"
)

// Categories of diagnostics, one per rule; the analyzer shows them.
const (
	CatDirective = "directive" // the parser rejects the directive
	CatTypo      = "typo"      // an ordinary comment that looks like a directive
	CatPlacement = "placement" // not in the doc comment of a top-level func, or in a constrained file
	CatSignature = "signature" // not func(context.Context, deps...) error, or not callable
	CatDuplicate = "duplicate" // an id or order used twice
	CatOrder     = "order"     // no order, or two that disagree
	CatRollback  = "rollback"  // a rollback that cannot be paired
)

// Diagnostic is one problem found by [Check].
type Diagnostic struct {
	Pos      token.Pos
	Category string
	Msg      string
	// Comment is the comment the problem is in, for typo and directive
	// problems (the analyzer offers fixes for them); nil otherwise.
	Comment *ast.Comment
	// ParseErr is the parser's error for a directive problem.
	ParseErr *annotations.Error
}

// Package is what [Check] reads.
type Package struct {
	Fset  *token.FileSet
	Types *types.Package
	Info  *types.Info
	// Files are the package's files as written and loaded in this build,
	// without the generated file and without test files. A file whose
	// positions come from a //line directive is read at its real offsets.
	Files []*ast.File
	// Other names the package's Go files that were not loaded as written:
	// left out of this build by a constraint, or loaded only through cgo's
	// output. Those that mention a directive are parsed (with Read) to
	// report it: no change may live in them.
	Other []string
	// Read returns a file's contents; nil when it cannot be read.
	Read func(name string) []byte
}

// Change is one change directive with its function, its rollback and
// what was derived from them.
type Change struct {
	ID    string
	Order string // from order= or the file name; "" when it has neither
	// OrderFromName says the order came from the file name's prefix.
	OrderFromName bool

	Directive annotations.Directive
	Comment   *ast.Comment // the directive
	Func      *ast.FuncDecl
	File      *ast.File

	// Params are the types of the function's parameters, the context
	// first; nil when the function does not have the shape of a change
	// function (the problem is reported).
	Params []types.Type

	// Rollback is the first rollback directive naming this change, or nil.
	Rollback *Rollback
}

// KeyPos is the position of key in the directive, or of the directive when
// the key is not written.
func (ch *Change) KeyPos(key string) token.Pos {
	if off, ok := ch.Directive.Change.Keys[key]; ok {
		return ch.Comment.Slash + token.Pos(off)
	}
	return ch.Comment.Slash
}

// Who prefixes messages about the change.
func (ch *Change) Who() string { return fmt.Sprintf("change %q: ", ch.ID) }

// Rollback is a rollback directive and its function.
type Rollback struct {
	Comment *ast.Comment
	Func    *ast.FuncDecl
	// Params as for [Change.Params]. A rollback whose parameters differ
	// from its change's is reported, and then Params is nil.
	Params []types.Type
}

// Site is a well-formed directive in the doc comment of a top-level
// function of a file compiled in every build.
type Site struct {
	Directive annotations.Directive
	Comment   *ast.Comment
	Func      *ast.FuncDecl
	File      *ast.File
}

// Result is what [Check] found.
type Result struct {
	// Sites are the well-formed, well-placed directives, one per function,
	// in source order.
	Sites []Site
	// Changes are the package's changes in source order, duplicates of an
	// earlier id left out.
	Changes []*Change
}

// Check applies every rule to p, calling report for each problem, and
// returns the changes. A change with problems is still returned (with nil
// Params when its function is the problem) so that callers can refer to
// it; the package is only fit to generate when nothing was reported.
func Check(p Package, report func(Diagnostic)) *Result {
	k := &checker{Package: p, report: report}
	var sites []Site
	var userStage *ast.Ident
	for _, f := range p.Files {
		if why := placement.Constraint(f, k.position(f.Pos()).Filename, p.Types.GoVersion()); why != "" {
			k.constrained(f, why)
			continue
		}
		sites = append(sites, k.scan(f)...)
		if id := declaresStage(f); id != nil && userStage == nil {
			userStage = id
		}
	}
	for _, name := range p.Other {
		if f := k.parseOther(name); f != nil {
			why := placement.Constraint(f, name, p.Types.GoVersion())
			if why == "" {
				why = "a name or package clause the go command does not build in this package"
			}
			k.constrained(f, why)
		}
	}
	res := &Result{Sites: k.onePerFunction(sites)}
	res.Changes = k.changes(res.Sites)
	k.rollbacks(res.Sites, res.Changes)
	if userStage != nil && len(res.Changes) > 0 {
		k.errorf(userStage.Pos(), CatPlacement, "package %s declares Stage, which flamingock-gen generates in flamingock_gen.go; rename it", p.Types.Path())
	}
	return res
}

type checker struct {
	Package
	report func(Diagnostic)
}

func (k *checker) errorf(pos token.Pos, category, format string, args ...any) {
	k.report(Diagnostic{Pos: pos, Category: category, Msg: fmt.Sprintf(format, args...)})
}

// position is the position of pos in the file on disk, never adjusted by
// a //line directive.
func (k *checker) position(pos token.Pos) token.Position { return k.Fset.PositionFor(pos, false) }

// where formats pos for use inside a message: base name, line and column.
func (k *checker) where(pos token.Pos) string {
	p := k.position(pos)
	return filepath.Base(p.Filename) + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
}

// scan returns the directives on top-level functions of f and reports every
// other directive: misplaced, malformed or misspelt.
func (k *checker) scan(f *ast.File) []Site {
	owners := placement.DocOwners(f)
	var sites []Site
	for _, group := range f.Comments {
		for _, cm := range group.List {
			if !strings.HasPrefix(cm.Text, annotations.Prefix) {
				if hint, typo := annotations.LikelyTypo(cm.Text); typo && typoReported(cm, owners[cm]) {
					k.report(Diagnostic{Pos: cm.Slash, Category: CatTypo, Msg: hint, Comment: cm})
				}
				continue
			}
			d, ok, errs := annotations.Parse(cm.Text)
			if !ok {
				continue
			}
			who := placement.Subject(d)
			for _, e := range errs {
				k.report(Diagnostic{Pos: cm.Slash + token.Pos(e.Offset), Category: CatDirective, Msg: who + e.Msg, Comment: cm, ParseErr: e})
			}
			if len(errs) > 0 {
				continue
			}
			fn, problem := placement.Check(f, owners[cm], cm, d)
			if problem != "" {
				k.errorf(cm.Slash, CatPlacement, "%s", problem)
				continue
			}
			sites = append(sites, Site{Directive: d, Comment: cm, Func: fn, File: f})
		}
	}
	return sites
}

// typoReported decides whether a comment that [annotations.LikelyTypo]
// flags is an error. In the doc comment of a function it is: a misspelt
// directive there silently drops a change. Elsewhere (a package or type
// doc, a comment in a body) only when the comment, rewritten, is a
// flawless directive: prose that wraps a line before "flamingock:change
// directives ..." is not a typo.
func typoReported(cm *ast.Comment, owner ast.Node) bool {
	if _, onFunc := owner.(*ast.FuncDecl); onFunc {
		return true
	}
	fixed, ok := annotations.RewriteTypo(cm.Text)
	if !ok {
		return false
	}
	_, _, errs := annotations.Parse(fixed)
	return len(errs) == 0
}

// parseOther parses a file of Package.Other when it mentions a directive;
// nil otherwise, or when it does not parse (it is not built here, so its
// syntax errors are not this run's to report).
func (k *checker) parseOther(name string) *ast.File {
	src := k.Read(name)
	if !bytes.Contains(src, []byte(annotations.Prefix)) {
		return nil
	}
	f, err := parser.ParseFile(k.Fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	return f
}

// constrained reports every change and rollback directive of f, a file
// that is not compiled in every build (why says when it is).
func (k *checker) constrained(f *ast.File, why string) {
	for _, s := range k.scan(f) {
		k.errorf(s.Comment.Slash, CatPlacement, "%s", placement.ConstrainedMessage(placement.Subject(s.Directive), placement.DirectiveName(s.Directive), s.Func.Name.Name, why))
	}
}

// onePerFunction drops and reports every directive after the first on the
// same function: a function declares one change or one rollback.
func (k *checker) onePerFunction(sites []Site) []Site {
	first := map[*ast.FuncDecl]Site{}
	var out []Site
	for _, s := range sites {
		if prev, dup := first[s.Func]; dup {
			k.errorf(s.Comment.Slash, CatPlacement, "%s%s is the second directive on %s (the first is at %s); a function declares one change or one rollback",
				placement.Subject(s.Directive), placement.DirectiveName(s.Directive), s.Func.Name.Name, k.where(prev.Comment.Slash))
			continue
		}
		first[s.Func] = s
		out = append(out, s)
	}
	return out
}

// changes builds the package's changes in source order and reports
// signatures, orders, duplicate ids and colliding orders.
func (k *checker) changes(sites []Site) []*Change {
	var out []*Change
	byID := map[string]*Change{}
	for _, s := range sites {
		if s.Directive.Kind != annotations.KindChange {
			continue
		}
		ch := &Change{ID: s.Directive.Change.ID, Directive: s.Directive, Comment: s.Comment, Func: s.Func, File: s.File}
		ch.Order, ch.OrderFromName = k.order(ch)
		ch.Params = k.signature(s.Func, ch.Who())
		if prev, dup := byID[ch.ID]; dup {
			k.errorf(ch.KeyPos(annotations.KeyID), CatDuplicate, "%sduplicate change id: also declared at %s", ch.Who(), k.where(prev.KeyPos(annotations.KeyID)))
			continue
		}
		byID[ch.ID] = ch
		out = append(out, ch)
	}
	k.orderCollisions(out)
	return out
}

// order returns the change's order, from order= or from the file name's
// numeric prefix, and reports when it has neither or when they disagree.
func (k *checker) order(ch *Change) (string, bool) {
	explicit := ch.Directive.Change.Order
	base := filepath.Base(k.position(ch.File.Pos()).Filename)
	fromName, named := annotations.OrderFromFileName(base)
	switch {
	case explicit != "" && named && annotations.CompareOrders(explicit, fromName) != 0:
		k.errorf(ch.KeyPos(annotations.KeyOrder), CatOrder, "%sorder=%s differs from order %s in the file name %s; remove one or make them agree",
			ch.Who(), explicit, fromName, base)
		return explicit, false
	case explicit != "":
		return explicit, false
	case named:
		return fromName, true
	}
	k.errorf(ch.Comment.Slash, CatOrder, "%sno order: add order=<n> to the directive or name the file with an order prefix, as in 0001_%s", ch.Who(), base)
	return "", false
}

// orderCollisions reports changes whose orders compare equal: the runtime
// could not tell which runs first. The later one in source is reported.
func (k *checker) orderCollisions(changes []*Change) {
	sorted := slices.Clone(changes)
	slices.SortStableFunc(sorted, func(a, b *Change) int {
		return cmp.Or(annotations.CompareOrders(a.Order, b.Order), k.compareSource(a.Comment.Slash, b.Comment.Slash))
	})
	for i := 1; i < len(sorted); i++ {
		prev, ch := sorted[i-1], sorted[i]
		if ch.Order == "" || prev.Order == "" || annotations.CompareOrders(prev.Order, ch.Order) != 0 {
			continue
		}
		k.errorf(ch.KeyPos(annotations.KeyOrder), CatDuplicate, "%sorder %s%s collides with order %s%s of change %q at %s; orders within a package must differ",
			ch.Who(), ch.Order, k.fromName(ch), prev.Order, k.fromName(prev), prev.ID, k.where(prev.KeyPos(annotations.KeyOrder)))
	}
}

// fromName says where an order taken from a file name came from: an order
// like 2024 read off "2024_01_15_x.go" surprises a reader who meant a date.
func (k *checker) fromName(ch *Change) string {
	if !ch.OrderFromName {
		return ""
	}
	return " (from the file name " + filepath.Base(k.position(ch.File.Pos()).Filename) + ")"
}

// compareSource orders positions by file name, then offset, so that the
// order does not depend on the order files were loaded in.
func (k *checker) compareSource(a, b token.Pos) int {
	pa, pb := k.position(a), k.position(b)
	return cmp.Or(cmp.Compare(pa.Filename, pb.Filename), cmp.Compare(pa.Offset, pb.Offset))
}

// rollbacks pairs each rollback directive with its change and reports
// rollbacks of unknown changes, second rollbacks and parameter mismatches.
// The first rollback directive naming a change claims it, whether or not
// its function is valid, so a second one is reported as such either way.
func (k *checker) rollbacks(sites []Site, changes []*Change) {
	byID := map[string]*Change{}
	for _, ch := range changes {
		byID[ch.ID] = ch
	}
	for _, s := range sites {
		if s.Directive.Kind != annotations.KindRollback {
			continue
		}
		id := s.Directive.Rollback.ID
		who := fmt.Sprintf("rollback of %q: ", id)
		params := k.signature(s.Func, who)
		ch := byID[id]
		switch {
		case ch == nil:
			k.errorf(s.Comment.Slash+token.Pos(s.Directive.Rollback.IDOffset), CatRollback,
				"%sno change with id %q in package %s; a rollback must be in the same package as its change", who, id, k.Types.Path())
		case ch.Rollback != nil:
			k.errorf(s.Comment.Slash, CatRollback, "%s%s is a second rollback of change %q; %s (%s) already undoes it",
				who, s.Func.Name.Name, id, ch.Rollback.Func.Name.Name, k.where(ch.Rollback.Func.Name.Pos()))
		default:
			ch.Rollback = &Rollback{Comment: s.Comment, Func: s.Func, Params: params}
			if params != nil && ch.Params != nil && !slices.EqualFunc(params, ch.Params, types.Identical) {
				k.errorf(s.Func.Type.Params.Pos(), CatRollback, "%s%s takes %s but change %s takes %s; a rollback must take the same parameters as its change",
					who, s.Func.Name.Name, k.paramsString(params), ch.Func.Name.Name, k.paramsString(ch.Params))
				ch.Rollback.Params = nil
			}
		}
	}
}

// declaresStage returns the identifier of a package-level Stage declared
// in f, or nil.
func declaresStage(f *ast.File) *ast.Ident {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == "Stage" {
				return d.Name
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.Name == "Stage" {
						return s.Name
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.Name == "Stage" {
							return n
						}
					}
				}
			}
		}
	}
	return nil
}

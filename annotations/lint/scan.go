package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"strings"

	"github.com/flamingock/flamingock-go/annotations"
	"github.com/flamingock/flamingock-go/internal/placement"
	"github.com/flamingock/flamingock-go/internal/rules"
	"golang.org/x/tools/go/analysis"
)

// site is a well-formed directive in the doc comment of a top-level
// function of a non-test file.
type site struct {
	rules.Site
	// ignores are the checks silenced by //flamingocklint:ignore lines in
	// the same doc comment.
	ignores map[string]*ast.Comment
}

// change is one change of the package, as the shared rules found it.
type change struct {
	*rules.Change
	ignores map[string]*ast.Comment
}

// check applies the rules the generator applies (package internal/rules),
// reporting what they find as blocking diagnostics, and returns the
// package's directives and changes, with the package's flamingock_gen.go
// if it has one.
func (c *checker) check() (sites []site, changes []*change, genFile *ast.File) {
	var files []*ast.File
	var other []string
	for _, f := range c.pass.Files {
		real := c.pass.Fset.PositionFor(f.Pos(), false).Filename
		switch {
		case c.isOurGenerated(f):
			genFile = f
		case strings.HasSuffix(real, "_test.go"):
			c.testFile(f)
		case !strings.HasSuffix(real, ".go"):
			// cgo's rewrite of a file that imports "C": the rules read
			// the file as written, named by the rewrite's //line.
			if written := c.pass.Fset.Position(f.Package).Filename; strings.HasSuffix(written, ".go") {
				other = append(other, written)
			}
		default:
			files = append(files, f)
		}
	}
	other = append(other, c.pass.IgnoredFiles...)
	found := rules.Check(rules.Package{
		Fset:  c.pass.Fset,
		Types: c.pass.Pkg,
		Info:  c.pass.TypesInfo,
		Files: files,
		Other: goFiles(other),
		Read:  readFile,
	}, func(d rules.Diagnostic) {
		c.report(d.Pos, d.Category, true, d.Msg, fixesFor(d)...)
	})
	// Ignore comments count only beside a directive: in the doc
	// comment of a function that has one.
	ignores := map[*ast.FuncDecl]map[string]*ast.Comment{}
	for _, s := range found.Sites {
		ignores[s.Func] = c.ignores(s.Func.Doc)
		sites = append(sites, site{Site: s, ignores: ignores[s.Func]})
	}
	for _, ch := range found.Changes {
		changes = append(changes, &change{Change: ch, ignores: ignores[ch.Func]})
	}
	return sites, changes, genFile
}

// fixesFor returns the suggested fixes for a problem the rules found.
func fixesFor(d rules.Diagnostic) []analysis.SuggestedFix {
	switch {
	case d.ParseErr != nil:
		return parseFixes(d.Comment, d.ParseErr)
	case d.Category == rules.CatTypo:
		return typoFixes(d.Comment)
	}
	return nil
}

// goFiles keeps the non-test Go files of names.
func goFiles(names []string) []string {
	var out []string
	for _, name := range names {
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			out = append(out, name)
		}
	}
	return out
}

func readFile(name string) []byte {
	src, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	return src
}

// testFile warns about directives in a _test.go file, which flamingock-gen
// never reads.
func (c *checker) testFile(f *ast.File) {
	for _, group := range f.Comments {
		for _, cm := range group.List {
			d, ok, _ := annotations.Parse(cm.Text)
			if !ok {
				continue
			}
			c.report(cm.Slash, catPlacement, false, fmt.Sprintf("%s%s is in a _test.go file, which flamingock-gen does not read; move the function to a non-test file",
				placement.Subject(d), placement.DirectiveName(d)))
		}
	}
}

// textEdit replaces the bytes [from, to) of comment cm with text.
func textEdit(cm *ast.Comment, from, to int, text string) analysis.TextEdit {
	return analysis.TextEdit{Pos: cm.Slash + token.Pos(from), End: cm.Slash + token.Pos(to), NewText: []byte(text)}
}

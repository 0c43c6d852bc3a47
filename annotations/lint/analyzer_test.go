package lint_test

import (
	"testing"

	"github.com/flamingock/flamingock-go/annotations/lint"
	"golang.org/x/tools/go/analysis/analysistest"
)

// Each package under testdata/src holds the failing and the passing cases
// of one check; the failing lines carry "// want" comments.
func TestChecks(t *testing.T) {
	// One run for all: loading is most of the cost, and the packages
	// share their dependencies.
	analysistest.Run(t, analysistest.TestData(), lint.Analyzer,
		"placement", "signature", "duplicate", "order", "rollback", "txescape",
		"crosspkg/base", "crosspkg/app", "crosspkg/other",
		"generated/missing", "generated/current", "generated/table", "generated/stale", "generated/leftover", "generated/edited")
}

// The packages whose diagnostics carry fixes are checked against .golden
// files holding the source with every fix applied.
func TestSuggestedFixes(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), lint.Analyzer, "directive", "typo", "norollback")
}

// -require-rollback extends norollback to transactional changes; off (the
// default) it leaves them alone, which package requirerollback/off pins
// beside the other packages above that declare transactional changes
// without rollbacks.
func TestRequireRollback(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), lint.Analyzer, "requirerollback/off")
	setFlag(t, "require-rollback", "true")
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), lint.Analyzer, "requirerollback/on")
}

// setFlag sets one of the analyzer's flags for the rest of the test.
func setFlag(t *testing.T, name, value string) {
	t.Helper()
	f := lint.Analyzer.Flags.Lookup(name)
	if f == nil {
		t.Fatalf("the analyzer has no -%s flag", name)
	}
	old := f.Value.String()
	if err := f.Value.Set(value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Value.Set(old) })
}

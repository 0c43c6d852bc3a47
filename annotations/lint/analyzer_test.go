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

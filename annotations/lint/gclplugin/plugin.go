package gclplugin

import (
	"strconv"

	"github.com/flamingock/flamingock-go/annotations/lint"
	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"
)

// Name is the linter name to enable in .golangci.yml.
const Name = "flamingock"

func init() { register.Plugin(Name, New) }

// Settings are the plugin's settings under
// linters.settings.custom.flamingock.settings. Unknown keys are rejected,
// so a typo in the configuration is reported instead of silently ignored.
type Settings struct {
	// RequireRollback is the analyzer's -require-rollback flag: report
	// transactional changes without a rollback too, for projects that
	// undo changes.
	RequireRollback bool `json:"require-rollback"`
}

// New builds the plugin from its settings in .golangci.yml.
func New(settings any) (register.LinterPlugin, error) {
	s, err := register.DecodeSettings[Settings](settings)
	if err != nil {
		return nil, err
	}
	// golangci-lint runs the one analyzer value, so its flag carries the
	// setting, as the command line would.
	if err := lint.Analyzer.Flags.Set("require-rollback", strconv.FormatBool(s.RequireRollback)); err != nil {
		return nil, err
	}
	return plugin{}, nil
}

type plugin struct{}

// BuildAnalyzers returns the flamingock analyzer.
func (plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	return []*analysis.Analyzer{lint.Analyzer}, nil
}

// GetLoadMode asks for type information: the signature and dependency
// checks need it.
func (plugin) GetLoadMode() string { return register.LoadModeTypesInfo }

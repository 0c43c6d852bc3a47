package gclplugin

import (
	"github.com/flamingock/flamingock-go/annotations/lint"
	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"
)

// Name is the linter name to enable in .golangci.yml.
const Name = "flamingock"

func init() { register.Plugin(Name, New) }

// Settings are the plugin's settings under linters.settings.custom.flamingock.settings.
// There are none yet; unknown keys are rejected, so a typo in the
// configuration is reported instead of silently ignored.
type Settings struct{}

// New builds the plugin from its settings in .golangci.yml.
func New(settings any) (register.LinterPlugin, error) {
	if _, err := register.DecodeSettings[Settings](settings); err != nil {
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

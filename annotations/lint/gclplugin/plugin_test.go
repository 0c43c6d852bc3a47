package gclplugin_test

import (
	"testing"

	"github.com/flamingock/flamingock-go/annotations/lint"
	"github.com/flamingock/flamingock-go/annotations/lint/gclplugin"
	"github.com/golangci/plugin-module-register/register"
)

// golangci-lint looks the plugin up by name, builds it from the settings
// in .golangci.yml and asks for its analyzers and load mode.
func TestRegistered(t *testing.T) {
	newPlugin, err := register.GetPlugin(gclplugin.Name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlugin(nil) // no settings block in .golangci.yml
	if err != nil {
		t.Fatalf("no settings: %v", err)
	}
	analyzers, err := p.BuildAnalyzers()
	if err != nil {
		t.Fatal(err)
	}
	if len(analyzers) != 1 || analyzers[0] != lint.Analyzer {
		t.Errorf("BuildAnalyzers() = %v, want [lint.Analyzer]", analyzers)
	}
	if got := p.GetLoadMode(); got != register.LoadModeTypesInfo {
		t.Errorf("GetLoadMode() = %q, want %q", got, register.LoadModeTypesInfo)
	}
}

func TestUnknownSettingRejected(t *testing.T) {
	_, err := gclplugin.New(map[string]any{"strict": true})
	if err == nil {
		t.Fatal("New accepted an unknown setting")
	}
}

// The require-rollback setting sets the analyzer's -require-rollback flag,
// and a configuration without it leaves the flag off.
func TestRequireRollbackSetting(t *testing.T) {
	flag := lint.Analyzer.Flags.Lookup("require-rollback")
	t.Cleanup(func() { flag.Value.Set("false") })
	if _, err := gclplugin.New(map[string]any{"require-rollback": true}); err != nil {
		t.Fatal(err)
	}
	if got := flag.Value.String(); got != "true" {
		t.Errorf("after require-rollback: true, -require-rollback = %s", got)
	}
	if _, err := gclplugin.New(nil); err != nil {
		t.Fatal(err)
	}
	if got := flag.Value.String(); got != "false" {
		t.Errorf("without settings, -require-rollback = %s", got)
	}
}

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

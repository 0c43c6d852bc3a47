package sqlscript

import (
	"strings"
	"testing"
)

func TestParseChangeFile(t *testing.T) {
	src := "-- Adds the status column.\n\n--   flamingock:change id=add-status author=ana\nALTER TABLE o ADD status text;\n-- flamingock:rollback\r\nALTER TABLE o DROP status;\n"
	f, ok, errs := ParseChangeFile(src)
	if !ok || errs != nil {
		t.Fatalf("ok=%v errs=%v", ok, errs)
	}
	if f.Directive != "//flamingock:change id=add-status author=ana" || f.DirectiveLine != 3 || f.DirectiveCol != 6 {
		t.Errorf("directive %q at %d:%d", f.Directive, f.DirectiveLine, f.DirectiveCol)
	}
	if f.Apply != (Section{"ALTER TABLE o ADD status text;\n", 4}) {
		t.Errorf("apply %+v", f.Apply)
	}
	if f.Rollback == nil || *f.Rollback != (Section{"ALTER TABLE o DROP status;\n", 6}) {
		t.Errorf("rollback %+v", f.Rollback)
	}

	f, ok, errs = ParseChangeFile("-- flamingock:change id=x")
	if !ok || errs != nil || f.Apply.SQL != "" || f.Rollback != nil {
		t.Errorf("directive only: %+v ok=%v errs=%v", f, ok, errs)
	}
	if _, ok, errs := ParseChangeFile("-- a plain script\nSELECT 1;\n"); ok || errs != nil {
		t.Errorf("a file without directive: ok=%v errs=%v", ok, errs)
	}
}

func TestParseChangeFileErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"SELECT 1;\n-- flamingock:change id=x\n", "2:4: the change directive must be in the file's header"},
		{"-- flamingock:change id=x\n-- flamingock:change id=y\n", "2:4: a second change directive"},
		{"-- flamingock:change id=x\n-- flamingock:rollback x\n", "2:4: the rollback marker is the line -- flamingock:rollback with nothing else"},
		{"-- flamingock:change id=x\n-- flamingock:rollback\n  -- flamingock:rollback\n", "3:6: a second rollback marker"},
		{"-- flamingock:rollback\n-- flamingock:change id=x\n", "1:4: rollback marker before the change directive"},
		{"-- flamingock:change id=x\n-- flamingock:changes\n", "2:4: unknown directive flamingock:changes"},
	}
	for _, tt := range tests {
		_, _, errs := ParseChangeFile(tt.src)
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
			t.Errorf("ParseChangeFile(%q): %v, want one error starting %q", tt.src, errs, tt.want)
		}
	}
}

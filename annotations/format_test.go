package annotations

import (
	"reflect"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		d    Directive
		want string
	}{
		{change(ChangeSpec{ID: "a", Transactional: true}), "//flamingock:change id=a"},
		{
			change(ChangeSpec{ID: "a", Order: "0001", Author: "alice", Target: "users-db", Transactional: false,
				Recovery: RecoveryRetry, Description: "Create users"}),
			`//flamingock:change id=a order=0001 author=alice target=users-db transactional=false recovery=retry description="Create users"`,
		},
		{change(ChangeSpec{ID: "a", Author: "José", Transactional: true}), "//flamingock:change id=a author=José"},
		{change(ChangeSpec{ID: "a", Target: "db=1", Transactional: true}), `//flamingock:change id=a target="db=1"`},
		{change(ChangeSpec{ID: "a", Author: `say "hi"`, Transactional: true}), `//flamingock:change id=a author="say \"hi\""`},
		{change(ChangeSpec{ID: "a", Author: `a\b`, Transactional: true}), `//flamingock:change id=a author="a\\b"`},
		{change(ChangeSpec{ID: "a", Description: "tab\there", Transactional: true}), `//flamingock:change id=a description="tab\there"`},
		{change(ChangeSpec{ID: "a", Description: "no\u00a0break", Transactional: true}), `//flamingock:change id=a description="no\u00a0break"`},
		{change(ChangeSpec{ID: "a", Author: "a\uff1ab", Transactional: true}), "//flamingock:change id=a author=\"a\uff1ab\""}, // a look-alike is text only when quoted
		{Directive{Kind: KindRollback, Rollback: RollbackSpec{ID: "create-users", IDOffset: 99}}, "//flamingock:rollback create-users"},
		{Directive{}, ""},
	}
	for _, tt := range tests {
		got := Format(tt.d)
		if got != tt.want {
			t.Errorf("Format(%+v)\n got %s\nwant %s", tt.d, got, tt.want)
		}
		if tt.want == "" {
			continue
		}
		back, ok, errs := Parse(got)
		if !ok || len(errs) != 0 || !equalIgnoringOffsets(back, tt.d) {
			t.Errorf("Parse(Format(d)) = %+v, %v, %v; want %+v", back, ok, errs, tt.d)
		}
	}
}

// equalIgnoringOffsets compares directives apart from where their keys
// were written.
func equalIgnoringOffsets(a, b Directive) bool {
	a.Change.Keys, b.Change.Keys = nil, nil
	a.Rollback.IDOffset, b.Rollback.IDOffset = 0, 0
	return reflect.DeepEqual(a, b)
}

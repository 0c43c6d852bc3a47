package rules

import (
	"go/token"
	"go/types"
	"strings"
	"testing"
)

// TestUnnameable covers a dependency type the generated file cannot
// write. Go source cannot spell another package's unexported type in a
// signature (aliases are written by their exported name), so the case is
// built with go/types directly.
func TestUnnameable(t *testing.T) {
	own := types.NewPackage("example.com/m/p", "p")
	other := types.NewPackage("example.com/m/other", "other")
	secret := types.NewNamed(types.NewTypeName(token.NoPos, other, "secret", nil), types.NewStruct(nil, nil), nil)
	public := types.NewNamed(types.NewTypeName(token.NoPos, other, "Public", nil), types.NewStruct(nil, nil), nil)
	mine := types.NewNamed(types.NewTypeName(token.NoPos, own, "mine", nil), types.NewStruct(nil, nil), nil)
	k := &checker{Package: Package{Types: own}}
	for _, tc := range []struct {
		t    types.Type
		want string
	}{
		{types.NewPointer(public), ""},
		{types.NewPointer(mine), ""},
		{types.NewPointer(secret), "secret is unexported in package example.com/m/other"},
		{types.NewMap(types.Typ[types.String], types.NewSlice(secret)), "secret is unexported"},
		{types.NewSignatureType(nil, nil, nil, types.NewTuple(types.NewVar(token.NoPos, own, "x", secret)), nil, false), "secret is unexported"},
	} {
		got := k.unnameable(tc.t)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("unnameable(%s) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

package annotations

import "testing"

func TestLikelyTypo(t *testing.T) {
	const lead = "looks like a flamingock directive but is an ordinary comment, so it is ignored: "
	tests := []struct{ in, hint string }{
		{"// flamingock:change id=x", lead + `remove the space after "//" (write "//flamingock:change ...")`},
		{"// flamingock:change", lead + `remove the space after "//" (write "//flamingock:change")`},
		{"//  flamingock:change id=x", lead + `remove the space after "//" (write "//flamingock:change ...")`},
		{"// \tflamingock:change id=x", lead + `remove the space after "//" (write "//flamingock:change ...")`},
		{"//flamingock change id=x", lead + `put ":" right after "flamingock" (write "//flamingock:change ...")`},
		{"//flamingock rollback x", lead + `put ":" right after "flamingock" (write "//flamingock:rollback ...")`},
		{"//Flamingock:change id=x", lead + `write "flamingock" in lowercase (write "//flamingock:change ...")`},
		{"//FLAMINGOCK:Change id=x", lead + `write "flamingock" in lowercase (write "//flamingock:change ...")`},
		{"//flamingok:change id=x", lead + `spell it "flamingock" (write "//flamingock:change ...")`},
		{"//flamigncok:change id=x", lead + `spell it "flamingock" (write "//flamingock:change ...")`},
		{"//flamingo:change id=x", lead + `spell it "flamingock" (write "//flamingock:change ...")`},
		{"///flamingock:change id=x", lead + `remove the space after "//" (write "//flamingock:change ...")`},
		{"// //Flamingock:change id=x", lead + `remove the space after "//"; write "flamingock" in lowercase (write "//flamingock:change ...")`},
		{"// //flamingok:change id=x", lead + `remove the space after "//"; spell it "flamingock" (write "//flamingock:change ...")`},
		{"/* flamingock:change id=x */", lead + `use a line comment, not /* */ (write "//flamingock:change ...")`},
		{"/*flamingock:rollback x*/", lead + `use a line comment, not /* */ (write "//flamingock:rollback ...")`},
		{"// Flamingock change id=x", lead + `remove the space after "//"; write "flamingock" in lowercase; put ":" right after "flamingock" (write "//flamingock:change ...")`},
		{"//Flamingock: x", lead + `write "flamingock" in lowercase (write "//flamingock:x")`},
		// What gofmt makes of "//flamingock: change id=x".
		{"// flamingock: change id=x", lead + `remove the space after "//"; remove the space after ":" (write "//flamingock:change ...")`},
		{"// flamingock: rollback x", lead + `remove the space after "//"; remove the space after ":" (write "//flamingock:rollback ...")`},
		// Characters that look right but are not ASCII are named.
		{"//flamingock\uff1achange id=x", lead + `replace U+FF1A (full-width colon) with ":"`},
		{"//\u00a0flamingock:change id=x", lead + `remove the space after "//" (write "//flamingock:change ...")` + `; replace U+00A0 (no-break space) with " "`},
		{"//\u200bflamingock:change id=x", lead + `delete the invisible U+200B (zero-width space)`},
	}
	for _, tt := range tests {
		hint, typo := LikelyTypo(tt.in)
		if !typo || hint != tt.hint {
			t.Errorf("LikelyTypo(%q) = %q, %v\nwant %q, true", tt.in, hint, typo, tt.hint)
		}
		if _, ok, _ := Parse(tt.in); ok {
			t.Errorf("Parse(%q) accepted a comment LikelyTypo flags", tt.in)
		}
	}
}

func TestLikelyTypoLeavesProseAlone(t *testing.T) {
	for _, in := range []string{
		"//flamingock:change id=x", // a directive, not a typo
		"//flamingock:chnage id=x", // a directive with an error Parse reports
		"",
		"// CreateUsers creates the users table.",
		"// Flamingock: applies changes exactly once.",
		"// flamingock: change the order with care",
		"// flamingock: rollback is manual here",
		"// flamingock runs changes in order",
		"// Flamingock change ids must be unique.",
		"// flamingock rollback is manual here",
		"// flamingock:rollback is how a change is undone",
		"// flamingock:change the order with care",
		"/* flamingock:change is the directive */",
		"/* Flamingock: see docs */",
		"// flamingos: pink birds",
		"//go:generate flamingock-gen",
		"// flam:change id=x",
		"//flamingockish:change",
		"//flamingock",
		"//flamingock_change id=x",
		// Code blocks in doc comments: gofmt indents them with a tab.
		"//\t//flamingock:change id=x order=1",
		"//\tflamingock:rollback x",
		"//\t// Flamingock change id=x",
		"//\t/* flamingock:change id=x */",
		// Prose that quotes a directive, or a directive commented out.
		"// //flamingock:change directives; their registries are generated",
		"//   //flamingock:rollback x",
	} {
		if hint, typo := LikelyTypo(in); typo {
			t.Errorf("LikelyTypo(%q) = %q, true; want false", in, hint)
		}
	}
}

package annotations

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors point inside
// the comment, and that every directive it accepts survives a trip through
// Format unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"//flamingock:change id=create-users order=0001 author=alice target=users-db",
		`//flamingock:change id=x transactional=false recovery=retry description="Create the \"users\" table\n"`,
		"//flamingock:change\tid=a   order=2\t",
		"//flamingock:change author=José id=A1",
		"//flamingock:rollback create-users",
		`//flamingock:rollback "create-users"`,
		"//flamingock:",
		"//flamingock: change id=x",
		"//flamingock:chnage id=x",
		"//flamingock:change",
		"//flamingock:change id=x ordr=1 id=y order=",
		`//flamingock:change id=x description="a\qb" author=a"b`,
		`//flamingock:change id=x description="unterminated`,
		"//flamingock:rollback id=a b",
		"// flamingock:change id=x",
		"/* flamingock:change id=x */",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, comment string) {
		d, ok, errs := Parse(comment)
		if !ok {
			if errs != nil {
				t.Fatalf("Parse(%q): ok = false with errors %v", comment, errs)
			}
			LikelyTypo(comment)
			return
		}
		if hint, typo := LikelyTypo(comment); typo {
			t.Fatalf("LikelyTypo(%q) = %q for a comment Parse recognised", comment, hint)
		}
		for _, e := range errs {
			if e.Offset < 0 || e.Offset > len(comment) || e.Msg == "" {
				t.Fatalf("Parse(%q): bad error %+v", comment, e)
			}
		}
		if len(errs) > 0 {
			return
		}
		text := Format(d)
		if !strings.HasPrefix(text, Prefix) || strings.ContainsAny(text, "\n\r") {
			t.Fatalf("Format(%+v) = %q: not a one-line directive", d, text)
		}
		back, ok, errs := Parse(text)
		if !ok || len(errs) != 0 {
			t.Fatalf("Parse(Format(Parse(%q))) = %q: ok %v, errors %v", comment, text, ok, errs)
		}
		if !equalIgnoringOffsets(back, d) {
			t.Fatalf("round trip of %q through %q:\n got %+v\nwant %+v", comment, text, back, d)
		}
		if again := Format(back); again != text {
			t.Fatalf("Format is not stable: %q then %q", text, again)
		}
	})
}

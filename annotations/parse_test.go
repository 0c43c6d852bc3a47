package annotations

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func change(c ChangeSpec) Directive {
	if c.Recovery == "" {
		c.Recovery = RecoveryManual
	}
	return Directive{Kind: KindChange, Change: c}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want Directive
	}{
		{
			in: "//flamingock:change id=create-users order=0001 author=alice target=users-db",
			want: change(ChangeSpec{ID: "create-users", Order: "0001", Author: "alice", Target: "users-db", Transactional: true,
				Keys: map[string]int{"id": 20, "order": 36, "author": 47, "target": 60}}),
		},
		{
			in: `//flamingock:change id=x transactional=false recovery=retry description="Create the users table"`,
			want: change(ChangeSpec{ID: "x", Recovery: RecoveryRetry, Description: "Create the users table",
				Keys: map[string]int{"id": 20, "transactional": 25, "recovery": 45, "description": 60}}),
		},
		{
			in:   "//flamingock:change\tid=a   order=2\t",
			want: change(ChangeSpec{ID: "a", Order: "2", Transactional: true, Keys: map[string]int{"id": 20, "order": 27}}),
		},
		{
			in:   `//flamingock:change id=a description="say \"hi\"\tnow \u00e9"`,
			want: change(ChangeSpec{ID: "a", Description: "say \"hi\"\tnow é", Transactional: true, Keys: map[string]int{"id": 20, "description": 25}}),
		},
		{
			// A look-alike character inside quoted text is text.
			in:   "//flamingock:change id=a description=\"no\u00a0break \u201cquoted\u201d\"",
			want: change(ChangeSpec{ID: "a", Description: "no\u00a0break \u201cquoted\u201d", Transactional: true, Keys: map[string]int{"id": 20, "description": 25}}),
		},
		{
			in:   `//flamingock:change id="quoted.id_1"`,
			want: change(ChangeSpec{ID: "quoted.id_1", Transactional: true, Keys: map[string]int{"id": 20}}),
		},
		{
			in:   "//flamingock:change author=José transactional=true recovery=manual id=A1",
			want: change(ChangeSpec{ID: "A1", Author: "José", Transactional: true, Keys: map[string]int{"author": 20, "transactional": 33, "recovery": 52, "id": 68}}),
		},
		{
			in:   `//flamingock:change id=x author=O'Brien target="db=1"`,
			want: change(ChangeSpec{ID: "x", Author: "O'Brien", Target: "db=1", Transactional: true, Keys: map[string]int{"id": 20, "author": 25, "target": 40}}),
		},
		{
			in:   "//flamingock:rollback create-users",
			want: Directive{Kind: KindRollback, Rollback: RollbackSpec{ID: "create-users", IDOffset: 22}},
		},
		{
			in:   `//flamingock:rollback   "create-users"  `,
			want: Directive{Kind: KindRollback, Rollback: RollbackSpec{ID: "create-users", IDOffset: 24}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, ok, errs := Parse(tt.in)
			if !ok || len(errs) != 0 {
				t.Fatalf("Parse(%q) = ok %v, errs %v; want ok and no errors", tt.in, ok, errs)
			}
			if !reflect.DeepEqual(d, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, d, tt.want)
			}
		})
	}
}

func TestParseIgnoresOrdinaryComments(t *testing.T) {
	for _, in := range []string{
		"",
		"// flamingock:change id=x",
		"//Flamingock:change id=x",
		"//flamingock",
		"//flamingockchange id=x",
		"//go:generate flamingock-gen",
		"/* flamingock:change id=x */",
		"/*flamingock:change id=x*/",
		"// CreateUsers creates the users table.",
	} {
		d, ok, errs := Parse(in)
		if ok || errs != nil || !reflect.DeepEqual(d, Directive{}) {
			t.Errorf("Parse(%q) = %+v, %v, %v; want not a directive", in, d, ok, errs)
		}
	}
}

type wantErr struct {
	off int
	msg string
}

const allKeys = "id, order, author, target, transactional, recovery, description"

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", 129)
	tests := []struct {
		in   string
		want []wantErr
	}{
		// The directive name.
		{"//flamingock:", []wantErr{{13, `empty flamingock directive: write "//flamingock:change" or "//flamingock:rollback"`}}},
		{"//flamingock:  \t", []wantErr{{13, `empty flamingock directive: write "//flamingock:change" or "//flamingock:rollback"`}}},
		{"//flamingock: change id=x", []wantErr{{13, `unexpected space after "//flamingock:": write "//flamingock:change"`}}},
		{"//flamingock: change ordr=1", []wantErr{
			{13, `unexpected space after "//flamingock:": write "//flamingock:change"`},
			{21, `unknown key "ordr" in change directive (did you mean "order"?)`},
			{0 + 0, `change directive is missing the required key "id"`},
		}},
		{"//flamingock: hello", []wantErr{{13, `expected "change" or "rollback" right after "//flamingock:", found a space`}}},
		{"//flamingock:chnage id=x", []wantErr{{13, `unknown flamingock directive "chnage" (did you mean "change"?)`}}},
		{"//flamingock:Change id=x", []wantErr{{13, `unknown flamingock directive "Change" (did you mean "change"?)`}}},
		{"//flamingock:rollbak x", []wantErr{{13, `unknown flamingock directive "rollbak" (did you mean "rollback"?)`}}},
		{"//flamingock:change,id=x", []wantErr{{13, `unknown flamingock directive "change,id=x" (did you mean "change" followed by a space?)`}}},
		{"//flamingock:migrate id=x", []wantErr{{13, `unknown flamingock directive "migrate": want "change" or "rollback"`}}},

		// Change: structure.
		{"//flamingock:change", []wantErr{{0, `empty change directive: the key "id" is required, as in "//flamingock:change id=create-users"`}}},
		{"//flamingock:change   ", []wantErr{{0, `empty change directive: the key "id" is required, as in "//flamingock:change id=create-users"`}}},
		{"//flamingock:change order=1", []wantErr{{0, `change directive is missing the required key "id"`}}},
		{"//flamingock:change id=x ordr=1", []wantErr{{25, `unknown key "ordr" in change directive (did you mean "order"?)`}}},
		{"//flamingock:change id=x ID=y", []wantErr{{25, `unknown key "ID" in change directive (did you mean "id"?)`}}},
		{"//flamingock:change id=x descripton=y", []wantErr{{25, `unknown key "descripton" in change directive (did you mean "description"?)`}}},
		{"//flamingock:change id=x colour=red", []wantErr{{25, `unknown key "colour" in change directive: known keys are ` + allKeys}}},
		{"//flamingock:change id=x x=1", []wantErr{{25, `unknown key "x" in change directive: known keys are ` + allKeys}}},
		{"//flamingock:change id=x id=y", []wantErr{{25, `duplicate key "id" in change directive: each key may appear once`}}},
		{"//flamingock:change id=x order=1 order=1", []wantErr{{33, `duplicate key "order" in change directive: each key may appear once`}}},
		{"//flamingock:change id", []wantErr{{22, `missing "=" after key "id": write id=<value>`}}},
		{"//flamingock:change id create-users", []wantErr{
			{22, `missing "=" after key "id": write id=<value>`},
			{23, `expected key=value, found "create-users"`},
		}},
		{"//flamingock:change id=x create", []wantErr{{25, `expected key=value, found "create"`}}},
		{"//flamingock:change id=x // trailing comment", []wantErr{
			{25, `expected key=value, found "//"`},
			{28, `expected key=value, found "trailing"`},
			{37, `expected key=value, found "comment"`},
		}},
		{"//flamingock:change id=", []wantErr{{23, `missing value for key "id"`}}},
		{"//flamingock:change id= order=1", []wantErr{{23, `missing value for key "id"`}}},
		{"//flamingock:change =x id=y", []wantErr{{20, `missing key before "="`}}},
		{"//flamingock:change id=x ordr=", []wantErr{
			{25, `unknown key "ordr" in change directive (did you mean "order"?)`},
			{30, `missing value for key "ordr"`},
		}},

		// Change: quoting.
		{`//flamingock:change id=x description="a b`, []wantErr{{37, `unterminated quoted value for key "description": add the closing '"'`}}},
		{`//flamingock:change id=x description="a b\"`, []wantErr{{37, `unterminated quoted value for key "description": add the closing '"'`}}},
		{`//flamingock:change id=x description="a\qb"`, []wantErr{{39, `invalid escape sequence in the quoted value for key "description"`}}},
		{`//flamingock:change id=x description="\u12"`, []wantErr{{38, `invalid escape sequence in the quoted value for key "description"`}}},
		{`//flamingock:change id=x description="a"b order=1`, []wantErr{{40, `unexpected text after the quoted value for key "description": separate key=value pairs with a space`}}},
		{`//flamingock:change id=x author=a"b`, []wantErr{{33, `unexpected '"' in the value for key "author": quote the whole value, as in key="some value"`}}},
		{`//flamingock:change id=a=b`, []wantErr{{24, `unexpected "=" in the value for key "id": separate key=value pairs with a space, or quote a value that contains "="`}}},
		{`//flamingock:change id=x author=""`, []wantErr{{32, `empty value for key "author": leave the key out instead`}}},
		{`//flamingock:change id=x target=""`, []wantErr{{32, `empty value for key "target": leave the key out instead`}}},
		{`//flamingock:change id=x description=""`, []wantErr{{37, `empty value for key "description": leave the key out instead`}}},

		// Change: values.
		{"//flamingock:change id=create_users!", []wantErr{{23, `invalid id "create_users!": contains '!' at byte 12; only ASCII letters, digits, '.', '_' and '-' are allowed`}}},
		{"//flamingock:change id=-x", []wantErr{{23, `invalid id "-x": must start with an ASCII letter or digit, not '-'`}}},
		{"//flamingock:change id=é", []wantErr{{23, `invalid id "é": must start with an ASCII letter or digit, not 'é'`}}},
		{`//flamingock:change id=""`, []wantErr{{23, `invalid id "": must not be empty`}}},
		{`//flamingock:change id="a b"`, []wantErr{{23, `invalid id "a b": contains ' ' at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`}}},
		{"//flamingock:change id=" + long, []wantErr{{23, fmt.Sprintf(`invalid id: is 129 bytes long; the maximum is 128; it starts %q...`, long[:32])}}},
		{"//flamingock:change id=x transactional=" + long, []wantErr{{39, fmt.Sprintf(`invalid value %q... for key "transactional": want true or false`, long[:32])}}},
		{"//flamingock:change id=x " + long + "=1", []wantErr{{25, fmt.Sprintf(`unknown key %q... in change directive: known keys are `+allKeys, long[:32])}}},
		{"//flamingock:change id=x order=1/2", []wantErr{{31, `invalid order "1/2": contains '/' at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`}}},
		{"//flamingock:change id=x order=" + long[:65], []wantErr{{31, fmt.Sprintf(`invalid order: is 65 bytes long; the maximum is 64; it starts %q...`, long[:32])}}},
		{"//flamingock:change id=x transactional=yes", []wantErr{{39, `invalid value "yes" for key "transactional": want true or false`}}},
		{"//flamingock:change id=x transactional=True", []wantErr{{39, `invalid value "True" for key "transactional": want true or false`}}},
		{"//flamingock:change id=x recovery=Retry", []wantErr{{34, `invalid value "Retry" for key "recovery": want manual or retry`}}},

		// Invisible and look-alike characters are named where they are,
		// outside quoted text only.
		{"//flamingock:change id=x\u00a0order=1", []wantErr{{24, `the directive contains an invisible or look-alike character: replace U+00A0 (no-break space) with " "`}}},
		{"//flamingock:change id\uff1dx", []wantErr{{22, `the directive contains an invisible or look-alike character: replace U+FF1D (full-width equals sign) with "="`}}},
		{"//flamingock:change id=x description=\u201cthe users\u201d", []wantErr{{37, `the directive contains an invisible or look-alike character: replace U+201C (left double quotation mark) with "\""`}}},

		// Invalid UTF-8 in free-text values, at the bad byte (or at the
		// quoted value whose escape produced it).
		{"//flamingock:change id=x author=Jos\xe9", []wantErr{{35, `invalid UTF-8 byte 0xe9 in the value for key "author"; values must be UTF-8 text`}}},
		{"//flamingock:change id=x target=\xff", []wantErr{{32, `invalid UTF-8 byte 0xff in the value for key "target"; values must be UTF-8 text`}}},
		{`//flamingock:change id=x description="ok \xff"`, []wantErr{{37, `the value for key "description" is not valid UTF-8 (byte 0xff after unquoting); values must be UTF-8 text`}}},
		{"//flamingock:change id=x\xff", []wantErr{{24, `invalid UTF-8 byte 0xff in the value for key "id"; values must be UTF-8 text`}}},

		// Every problem is reported, in offset order.
		{"//flamingock:change ordr=1 id=bad! transactional=maybe", []wantErr{
			{20, `unknown key "ordr" in change directive (did you mean "order"?)`},
			{30, `invalid id "bad!": contains '!' at byte 3; only ASCII letters, digits, '.', '_' and '-' are allowed`},
			{49, `invalid value "maybe" for key "transactional": want true or false`},
		}},

		// Rollback.
		{"//flamingock:rollback", []wantErr{{0, `rollback directive is missing the id of the change it undoes, as in "//flamingock:rollback create-users"`}}},
		{"//flamingock:rollback  ", []wantErr{{0, `rollback directive is missing the id of the change it undoes, as in "//flamingock:rollback create-users"`}}},
		{"//flamingock:rollback a b", []wantErr{{24, `unexpected "b" after the change id: a rollback directive takes exactly one change id`}}},
		{"//flamingock:rollback a b c", []wantErr{{24, `unexpected "b" after the change id: a rollback directive takes exactly one change id`}}},
		{"//flamingock:rollback id=a", []wantErr{{22, `rollback directive takes the change id alone: write "//flamingock:rollback a", without "id="`}}},
		{"//flamingock:rollback id=", []wantErr{
			{22, `rollback directive takes the change id alone: write "//flamingock:rollback <change-id>", without "id="`},
			{25, `invalid id "": must not be empty`},
		}},
		{"//flamingock:rollback a!", []wantErr{{22, `invalid id "a!": contains '!' at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`}}},
		{`//flamingock:rollback "a`, []wantErr{{22, `unterminated quoted value for the change id: add the closing '"'`}}},
		{`//flamingock:rollback "a"b`, []wantErr{{25, `unexpected text after the quoted value for the change id: separate key=value pairs with a space`}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, ok, errs := Parse(tt.in)
			if !ok {
				t.Fatalf("Parse(%q): ok = false, want a directive with errors", tt.in)
			}
			var got []wantErr
			for _, e := range errs {
				got = append(got, wantErr{e.Offset, e.Msg})
				if e.Error() != e.Msg {
					t.Errorf("Error() = %q, want the message %q", e.Error(), e.Msg)
				}
			}
			if !reflect.DeepEqual(got, sortedByOffset(tt.want)) {
				t.Errorf("Parse(%q) errors\n got %+v\nwant %+v", tt.in, got, sortedByOffset(tt.want))
			}
		})
	}
}

// sortedByOffset orders the expected errors as Parse does, so tables can
// list them in reading order.
func sortedByOffset(want []wantErr) []wantErr {
	out := append([]wantErr(nil), want...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].off < out[j-1].off; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestParseKeepsWhatParsed checks that a directive with errors still
// carries its valid parts, so the generator can report more than one
// problem per change (for example a bad order and a duplicate id).
func TestParseKeepsWhatParsed(t *testing.T) {
	d, _, errs := Parse("//flamingock:change id=x id=y order=1/2 target=db transactional=no")
	if len(errs) != 3 {
		t.Fatalf("got %d errors %v, want 3", len(errs), errs)
	}
	want := ChangeSpec{ID: "x", Target: "db", Transactional: true, Recovery: RecoveryManual,
		Keys: map[string]int{"id": 20, "order": 30, "target": 40, "transactional": 50}}
	if d.Kind != KindChange || !reflect.DeepEqual(d.Change, want) {
		t.Errorf("got %+v, want change %+v", d, want)
	}
	d, _, _ = Parse("//flamingock:rollback id=create-users")
	if d.Rollback != (RollbackSpec{ID: "create-users", IDOffset: 25}) {
		t.Errorf("rollback with id= prefix: got %+v", d.Rollback)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindChange: "change", KindRollback: "rollback", 0: "Kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

package annotations

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "0", "create-users", "V1.2_add_index", strings.Repeat("x", 128)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	tests := []struct{ id, msg string }{
		{"", `invalid id "": must not be empty`},
		{"_a", `invalid id "_a": must start with an ASCII letter or digit, not '_'`},
		{".a", `invalid id ".a": must start with an ASCII letter or digit, not '.'`},
		{"a b", `invalid id "a b": contains ' ' at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`},
		{"a/b", `invalid id "a/b": contains '/' at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`},
		{"aé", `invalid id "aé": contains 'é' at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`},
		{"a\xff", `invalid id "a\xff": contains byte 0xff at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`},
		{strings.Repeat("x", 129), `invalid id: is 129 bytes long; the maximum is 128; it starts "` + strings.Repeat("x", 32) + `"...`},
	}
	for _, tt := range tests {
		err := ValidateID(tt.id)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("ValidateID(%q) = %v, want %q", tt.id, err, tt.msg)
		}
	}
}

func TestValidateOrder(t *testing.T) {
	for _, o := range []string{"1", "0001", "2024-01-15", "1.2.3", "a", strings.Repeat("9", 64)} {
		if err := ValidateOrder(o); err != nil {
			t.Errorf("ValidateOrder(%q) = %v, want nil", o, err)
		}
	}
	tests := []struct{ order, msg string }{
		{"", `invalid order "": must not be empty`},
		{"-1", `invalid order "-1": must start with an ASCII letter or digit, not '-'`},
		{"1 2", `invalid order "1 2": contains ' ' at byte 1; only ASCII letters, digits, '.', '_' and '-' are allowed`},
		{strings.Repeat("9", 65), `invalid order: is 65 bytes long; the maximum is 64; it starts "` + strings.Repeat("9", 32) + `"...`},
	}
	for _, tt := range tests {
		err := ValidateOrder(tt.order)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("ValidateOrder(%q) = %v, want %q", tt.order, err, tt.msg)
		}
	}
}

func TestCompareOrders(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2", "10", -1},
		{"0001", "1", 0},
		{"1", "0001", 0},
		{"0", "000", 0},
		{"1.2", "1.10", -1},
		{"1.01", "1.1", 0},
		{"a", "b", -1},
		{"a", "a", 0},
		{"a", "ab", -1},
		{"1", "1a", -1},
		{"1", "1.1", -1},
		{"9", "0010", -1},
		{"1-9", "1-10", -1},
		{"2024-01-15", "2024-1-16", -1},
		{"v2", "v10", -1},
		{"v10", "w1", -1},
		{"1", "a", -1},    // digits sort before letters
		{"-", "1", -1},    // '-' and '.' sort before digits
		{"1_b", "1a", -1}, // bytewise: '_' (0x5f) < 'a' (0x61)
		{"99999999999999999999999", "100000000000000000000000", -1},
	}
	for _, tt := range tests {
		if got := CompareOrders(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareOrders(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := CompareOrders(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareOrders(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestOrderFromFileName(t *testing.T) {
	tests := []struct {
		base, want string
		ok         bool
	}{
		{"0001_create_users.go", "0001", true},
		{"2_add_index.go", "2", true},
		{"20240115_x.go", "20240115", true},
		{"0001_.go", "0001", true},
		{"create_users.go", "", false},
		{"0001create.go", "", false},
		{"0001-create.go", "", false},
		{"0001", "", false},
		{"_0001_create.go", "", false},
		{".0001_create.go", "", false},
		{"", "", false},
		{strings.Repeat("1", 65) + "_x.go", "", false},
	}
	for _, tt := range tests {
		got, ok := OrderFromFileName(tt.base)
		if got != tt.want || ok != tt.ok {
			t.Errorf("OrderFromFileName(%q) = %q, %v; want %q, %v", tt.base, got, ok, tt.want, tt.ok)
		}
	}
}

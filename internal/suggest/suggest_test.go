package suggest

import "testing"

func TestClosest(t *testing.T) {
	for _, c := range []struct {
		name       string
		candidates []string
		want       string
	}{
		{"ledgr", []string{"files", "ledger"}, "ledger"},
		{"Ledger", []string{"ledger"}, "ledger"},
		{"usres", []string{"config", "users"}, "users"},
		{"aplied", []string{"STARTED", "APPLIED", "FAILED"}, "APPLIED"},
		{"missing", []string{"ledger"}, ""},
		{"x", []string{"abc"}, ""},
		{"users", []string{"users"}, ""},
		{"seed-user", []string{"index-users", "seed-users"}, "seed-users"},
	} {
		if got := Closest(c.name, c.candidates); got != c.want {
			t.Errorf("Closest(%q, %q) = %q, want %q", c.name, c.candidates, got, c.want)
		}
	}
}

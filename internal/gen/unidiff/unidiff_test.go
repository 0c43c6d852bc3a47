package unidiff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestDiffEqualIsEmpty(t *testing.T) {
	if d := Diff("a", "b", []byte("x\ny\n"), []byte("x\ny\n")); d != "" {
		t.Fatalf("Diff of equal inputs = %q, want empty", d)
	}
}

func TestDiffFormat(t *testing.T) {
	old := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n"
	new := "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n"
	want := `--- a/f.go
+++ b/f.go
@@ -1,6 +1,6 @@
 1
 2
-3
+three
 4
 5
 6
@@ -13,3 +13,4 @@
 13
 14
 15
+16
`
	if got := Diff("a/f.go", "b/f.go", []byte(old), []byte(new)); got != want {
		t.Fatalf("Diff:\n%s\nwant:\n%s", got, want)
	}
}

func TestDiffWholeFile(t *testing.T) {
	got := Diff("a", "/dev/null", []byte("x\ny"), nil)
	want := "--- a\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n\\ No newline at end of file\n"
	if got != want {
		t.Fatalf("Diff:\n%q\nwant:\n%q", got, want)
	}
}

// TestDiffRandom applies each diff back to its old text and checks that it
// yields the new text, and that the number of changed lines is minimal.
func TestDiffRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		a := randomLines(r)
		b := mutate(r, a)
		oldText, newText := strings.Join(a, ""), strings.Join(b, "")
		d := Diff("a", "b", []byte(oldText), []byte(newText))
		got, changed, err := apply(oldText, d)
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, d)
		}
		if got != newText {
			t.Fatalf("case %d: applying the diff gave\n%q\nwant\n%q\ndiff:\n%s", i, got, newText, d)
		}
		if want := len(a) + len(b) - 2*lcs(a, b); changed != want {
			t.Fatalf("case %d: diff changes %d lines, minimum is %d\n%s", i, changed, want, d)
		}
	}
}

func randomLines(r *rand.Rand) []string {
	lines := make([]string, r.IntN(40))
	for i := range lines {
		lines[i] = strconv.Itoa(r.IntN(6)) + "\n"
	}
	return lines
}

func mutate(r *rand.Rand, a []string) []string {
	var b []string
	for _, l := range a {
		switch r.IntN(6) {
		case 0: // drop
		case 1:
			b = append(b, "new"+strconv.Itoa(r.IntN(3))+"\n", l)
		default:
			b = append(b, l)
		}
	}
	if r.IntN(3) == 0 {
		b = append(b, "tail\n")
	}
	return b
}

// apply is a minimal patch: it checks context lines against old and
// returns the patched text and the count of + and - lines.
func apply(old, diff string) (string, int, error) {
	if diff == "" {
		return old, 0, nil
	}
	a := splitLines(old)
	lines := strings.SplitAfter(diff, "\n")
	var out []string
	pos, changed := 0, 0
	for i := 2; i < len(lines) && lines[i] != ""; i++ {
		l := lines[i]
		if strings.HasPrefix(l, "@@") {
			var os, oc, ns, nc int
			if _, err := fmt.Sscanf(normalizeRange(l), "@@ -%d,%d +%d,%d @@", &os, &oc, &ns, &nc); err != nil {
				return "", 0, fmt.Errorf("bad hunk header %q: %v", l, err)
			}
			start := os - 1
			if oc == 0 {
				start = os
			}
			out = append(out, a[pos:start]...)
			pos = start
			continue
		}
		body := l[1:]
		switch l[0] {
		case ' ':
			if pos >= len(a) || a[pos] != body {
				return "", 0, fmt.Errorf("context %q does not match old line %d", body, pos+1)
			}
			out = append(out, body)
			pos++
		case '-':
			if pos >= len(a) || a[pos] != body {
				return "", 0, fmt.Errorf("deleted %q does not match old line %d", body, pos+1)
			}
			pos++
			changed++
		case '+':
			out = append(out, body)
			changed++
		default:
			return "", 0, fmt.Errorf("bad diff line %q", l)
		}
	}
	out = append(out, a[pos:]...)
	return strings.Join(out, ""), changed, nil
}

// normalizeRange writes the implicit ",1" of one-line ranges.
func normalizeRange(h string) string {
	f := strings.Fields(h)
	for i := 1; i <= 2; i++ {
		if !strings.Contains(f[i], ",") {
			f[i] += ",1"
		}
	}
	return strings.Join(f, " ")
}

func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

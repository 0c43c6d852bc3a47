package suggest

import "strings"

// Closest returns the candidate nearest to name when it is near enough to
// be a slip, else "": the same name in another case, or one at most a third
// of name's length plus one edits away (compared without regard to case).
// name itself is never suggested; ties go to the earlier candidate.
func Closest(name string, candidates []string) string {
	lower := strings.ToLower(name)
	limit := len(name)/3 + 1
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == name {
			continue
		}
		if d := distance(lower, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

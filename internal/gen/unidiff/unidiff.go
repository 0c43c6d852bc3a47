package unidiff

import (
	"fmt"
	"strings"
)

// context is how many unchanged lines surround each change in a hunk, as
// in diff -u.
const context = 3

// opKind says what an edit does to one line.
type opKind byte

const (
	opKeep   opKind = ' '
	opDelete opKind = '-'
	opInsert opKind = '+'
)

// op is one line of the edit script.
type op struct {
	kind opKind
	line string
}

// Diff returns the unified diff that turns old into new, with oldName and
// newName in the "---" and "+++" header lines. It returns "" when old and
// new are equal.
func Diff(oldName, newName string, old, new []byte) string {
	if string(old) == string(new) {
		return ""
	}
	a, b := splitLines(string(old)), splitLines(string(new))
	ops := editScript(a, b)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", oldName, newName)
	writeHunks(&sb, ops)
	return sb.String()
}

// splitLines splits s into lines that keep their "\n". A last line without
// one gets the marker diff uses, so a missing final newline shows up.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}

// editScript returns a shortest sequence of keeps, deletes and inserts
// that turns a into b (Myers, "An O(ND) Difference Algorithm", 1986).
func editScript(a, b []string) []op {
	n, m := len(a), len(b)
	max := n + m
	offset := max + 1
	v := make([]int, 2*max+3)
	// trace[d] is v after step d; walking it back recovers the path.
	var trace [][]int
	for d := 0; d <= max; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				x = v[offset+k+1] // step down: insert b[y-1]
			} else {
				x = v[offset+k-1] + 1 // step right: delete a[x-1]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[offset+k] = x
			if x >= n && y >= m {
				trace = append(trace, append([]int(nil), v...))
				return backtrack(trace, a, b, offset)
			}
		}
		trace = append(trace, append([]int(nil), v...))
	}
	panic("unidiff: no edit script found") // unreachable: d = n+m always ends
}

// backtrack walks the recorded frontiers from the end to the start and
// returns the edit script in forward order.
func backtrack(trace [][]int, a, b []string, offset int) []op {
	x, y := len(a), len(b)
	var rev []op
	for d := len(trace) - 1; d > 0; d-- {
		v := trace[d-1]
		k := x - y
		var prevK int
		if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := v[offset+prevK]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			rev = append(rev, op{opKeep, a[x-1]})
			x, y = x-1, y-1
		}
		if x == prevX {
			rev = append(rev, op{opInsert, b[y-1]})
		} else {
			rev = append(rev, op{opDelete, a[x-1]})
		}
		x, y = prevX, prevY
	}
	for x > 0 && y > 0 {
		rev = append(rev, op{opKeep, a[x-1]})
		x, y = x-1, y-1
	}
	ops := make([]op, len(rev))
	for i, o := range rev {
		ops[len(rev)-1-i] = o
	}
	return ops
}

// writeHunks groups the edit script into hunks with up to context
// unchanged lines around each run of changes.
func writeHunks(sb *strings.Builder, ops []op) {
	for i := 0; i < len(ops); {
		if ops[i].kind == opKeep {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		// Extend the hunk while the next change is close enough that the
		// context around both would overlap.
		for end < len(ops) {
			if ops[end].kind != opKeep {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == opKeep {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = run
		}
		writeHunk(sb, ops, start, end)
		i = end
	}
}

func writeHunk(sb *strings.Builder, ops []op, start, end int) {
	// Line numbers of the hunk's first line in each file.
	oldLine, newLine := 1, 1
	for _, o := range ops[:start] {
		if o.kind != opInsert {
			oldLine++
		}
		if o.kind != opDelete {
			newLine++
		}
	}
	oldCount, newCount := 0, 0
	for _, o := range ops[start:end] {
		if o.kind != opInsert {
			oldCount++
		}
		if o.kind != opDelete {
			newCount++
		}
	}
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(oldLine, oldCount), hunkRange(newLine, newCount))
	for _, o := range ops[start:end] {
		sb.WriteByte(byte(o.kind))
		sb.WriteString(o.line)
	}
}

// hunkRange formats a hunk's start and length the way diff -u does: an
// empty range names the line before it, and a length of one is left out.
func hunkRange(line, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", line-1)
	case 1:
		return fmt.Sprintf("%d", line)
	}
	return fmt.Sprintf("%d,%d", line, count)
}

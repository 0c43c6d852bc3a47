package cliout

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Cell is one table cell: its text and how to paint it.
type Cell struct {
	Text  string
	Style Style
}

// C is a plain cell.
func C(text string) Cell { return Cell{Text: text} }

// S is a painted cell.
func S(text string, st Style) Cell { return Cell{Text: text, Style: st} }

// Table is a table of text aligned in columns two spaces apart, with a
// header row. The last column is not padded, so long free text (reasons,
// errors) goes there.
type Table struct {
	header []string
	kinds  []Kind
	rows   [][]Cell
	width  int
}

// Kind says how a column gives way when [Table.Fit] must narrow a table.
type Kind int

const (
	// ID columns hold what an operator copies into the next command
	// (change ids, run ids, stages): cut with "…" only once the free text
	// is as narrow as it goes. A column is an ID column unless marked.
	ID Kind = iota
	// Free columns hold prose (notes, reasons, errors, who): cut first.
	Free
	// Whole columns hold values that mean nothing when cut (states, times,
	// durations, counts): never cut.
	Whole
)

// Fit makes Write keep every line within width runes (0: no limit) by
// narrowing columns by their [Kind] and cutting their text with "…". A
// table whose [Whole] columns alone are wider stays wider.
func (t *Table) Fit(width int) { t.width = width }

// Mark gives the columns with the given headers kind k.
func (t *Table) Mark(k Kind, headers ...string) {
	for i, h := range t.header {
		for _, want := range headers {
			if h == want {
				t.kinds[i] = k
			}
		}
	}
}

// Map replaces the text of every cell in the column with the given header.
func (t *Table) Map(header string, f func(string) string) {
	for i, h := range t.header {
		if h == header {
			for _, r := range t.rows {
				r[i].Text = f(r[i].Text)
			}
		}
	}
}

// NewTable returns a table with the given column headers.
func NewTable(header ...string) *Table {
	return &Table{header: header, kinds: make([]Kind, len(header))}
}

// Row adds a row. Missing cells are empty; extra cells are an error of the
// caller's and are dropped.
func (t *Table) Row(cells ...Cell) {
	row := make([]Cell, len(t.header))
	copy(row, cells)
	t.rows = append(t.rows, row)
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Write renders the table to w, painting cells (and the header, in bold)
// when color is true. Cell text is kept to its first line.
func (t *Table) Write(w io.Writer, color bool) error {
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i := range r {
			r[i].Text = firstLine(r[i].Text)
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i].Text))
		}
	}
	if t.width > 0 {
		t.narrow(widths)
	}
	var b strings.Builder
	header := make([]Cell, len(t.header))
	for i, h := range t.header {
		header[i] = Cell{Text: h, Style: Bold}
	}
	writeRow(&b, header, widths, color)
	for _, r := range t.rows {
		writeRow(&b, r, widths, color)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// narrow makes a full row fit the table's width, then cuts the cells to
// their column. Free text gives way first, widest column first, down to
// its header (at least 4 runes); then ids the same way: they are what an
// operator copies into the next command. Whole columns never give way.
func (t *Table) narrow(widths []int) {
	total := 2 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	floor := func(i, least int) int { return max(utf8.RuneCountInString(t.header[i]), least) }
	shrink := func(k Kind, least int) {
		for total > t.width {
			widest := -1
			for i, w := range widths {
				if t.kinds[i] == k && w > floor(i, least) && (widest < 0 || w > widths[widest]) {
					widest = i
				}
			}
			if widest < 0 {
				return
			}
			widths[widest]--
			total--
		}
	}
	shrink(Free, 4)
	shrink(ID, 4)
	for _, r := range t.rows {
		for i := range r {
			r[i].Text = Truncate(r[i].Text, widths[i])
		}
	}
}

func writeRow(b *strings.Builder, r []Cell, widths []int, color bool) {
	last := len(r) - 1
	for last > 0 && r[last].Text == "" {
		last--
	}
	for i := 0; i <= last; i++ {
		c := r[i]
		b.WriteString(Paint(c.Text, c.Style, color))
		if i < last {
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.Text)+2))
		}
	}
	b.WriteByte('\n')
}

// firstLine cuts s at its first newline, marking the cut with "…".
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// Truncate shortens s to at most n runes, ending it with "…" when cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

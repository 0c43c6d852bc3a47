package annotations

import (
	"strings"
	"testing"
)

func BenchmarkParseChange(b *testing.B) {
	const in = `//flamingock:change id=create-users order=0001 author=alice target=users-db description="Create the users table"`
	b.ReportAllocs()
	for b.Loop() {
		if _, _, errs := Parse(in); errs != nil {
			b.Fatal(errs)
		}
	}
}

func BenchmarkParseOrdinaryComment(b *testing.B) {
	const in = "// CreateUsers creates the users table and its indexes."
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := Parse(in); ok {
			b.Fatal("parsed an ordinary comment")
		}
		if _, typo := LikelyTypo(in); typo {
			b.Fatal("flagged an ordinary comment")
		}
	}
}

// BenchmarkParseLongGarbage shows parsing stays linear on hostile input:
// 64 KiB of unknown keys with long names.
func BenchmarkParseLongGarbage(b *testing.B) {
	in := "//flamingock:change " + strings.Repeat(strings.Repeat("k", 200)+"=v ", 64<<10/203)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Parse(in)
	}
}

func BenchmarkCompareOrders(b *testing.B) {
	for b.Loop() {
		CompareOrders("2024-01-15.0002", "2024-01-15.0010")
	}
}

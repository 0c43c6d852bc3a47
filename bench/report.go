package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// gooseIndex is the position of goose in systems: the baseline of ratios.
func gooseIndex() int {
	for i, s := range systems {
		if s.name == "goose" {
			return i
		}
	}
	panic("goose is not among the systems")
}

func printStartup(title string, rows []startupRow) {
	g := gooseIndex()
	fmt.Println(title)
	fmt.Println()
	header := []string{"N"}
	for _, s := range systems {
		header = append(header, s.name+" median (min)")
	}
	for i, s := range systems {
		if i != g {
			header = append(header, s.name+" ÷ goose median (min)")
		}
	}
	for _, s := range systems {
		header = append(header, s.name+" round trips")
	}
	for _, s := range systems {
		header = append(header, s.name+" allocations")
	}
	printRow(header)
	printSeparator(len(header))
	for _, r := range rows {
		cells := []string{fmt.Sprintf("%d", r.n)}
		for _, m := range r.systems {
			lo, _ := minMax(m.times)
			cells = append(cells, ms(m.median())+" ("+ms(lo)+")")
		}
		glo, _ := minMax(r.systems[g].times)
		for i, m := range r.systems {
			if i != g {
				lo, _ := minMax(m.times)
				cells = append(cells, ratio(m.median(), r.systems[g].median())+" ("+ratio(lo, glo)+")")
			}
		}
		for _, m := range r.systems {
			cells = append(cells, fmt.Sprintf("%.3g", m.tracedPerOp()))
		}
		for _, m := range r.systems {
			cells = append(cells, fmt.Sprintf("%d", slices.Min(m.mallocs)))
		}
		printRow(cells)
	}
	fmt.Println()
	fmt.Println("Round trips: what the pgx tracer saw per start (queries, batches, server-side prepares; not the connection handshake).")
	fmt.Println("Allocations: the process's heap allocations during one start (runtime.MemStats), the smallest over the repetitions.")
	fmt.Println()
}

// printFlatness prints, per system and mode, the largest N's start against
// the smallest's.
func printFlatness(fresh, reused []startupRow) {
	if len(fresh) < 2 {
		return
	}
	lo, hi := 0, len(fresh)-1
	fmt.Printf("Growth: start at N = %d ÷ start at N = %d, median (min).\n\n", fresh[hi].n, fresh[lo].n)
	printRow([]string{"system", "fresh pool", "reused pool"})
	printSeparator(3)
	for i, s := range systems {
		cells := []string{s.name}
		for _, rows := range [][]startupRow{fresh, reused} {
			a, b := rows[hi].systems[i], rows[lo].systems[i]
			amin, _ := minMax(a.times)
			bmin, _ := minMax(b.times)
			cells = append(cells, ratio(a.median(), b.median())+" ("+ratio(amin, bmin)+")")
		}
		printRow(cells)
	}
	fmt.Println()
}

func printApply(n int, rows []*measurement) {
	g := gooseIndex()
	gmin, _ := minMax(rows[g].times)
	printRow([]string{"system", "total median (min – max)", "per change", "÷ goose median (min)", "round trips per change", "allocations per change", "bytes allocated per change", "WAL per change"})
	printSeparator(8)
	for i, m := range rows {
		lo, hi := minMax(m.times)
		cells := []string{
			systems[i].name,
			ms(m.median()) + " (" + ms(lo) + " – " + ms(hi) + ")",
			us(m.median() / time.Duration(n)),
			ratio(m.median(), rows[g].median()) + " (" + ratio(lo, gmin) + ")",
			// The wire count covers the whole run, startup included.
			fmt.Sprintf("%.2f (tracer %.2f)", float64(m.wire)/float64(n), m.tracedPerOp()),
			fmt.Sprintf("%.1f", float64(slices.Min(m.mallocs))/float64(n)),
			fmt.Sprintf("%.0f B", float64(slices.Min(m.allocBytes))/float64(n)),
			fmt.Sprintf("%d B", slices.Min(m.walBytes)/int64(n)),
		}
		printRow(cells)
	}
	fmt.Println()
	fmt.Println("Round trips: counted on the wire (a local proxy), whole run divided by the number of changes;")
	fmt.Println("in parentheses what the pgx tracer saw (queries, batches, server-side prepares).")
	fmt.Println("Allocations: the bench process's heap allocations (runtime.MemStats) during the run, startup included,")
	fmt.Println("divided by the number of changes, the smallest over the repetitions.")
	fmt.Println("WAL: bytes the server wrote during the run divided by the number of changes, the smallest over the")
	fmt.Println("repetitions (the count is server-wide, so other sessions can only add to it).")
}

func printRow(cells []string) { fmt.Println("| " + strings.Join(cells, " | ") + " |") }

func printSeparator(n int) {
	fmt.Println("|" + strings.Repeat("---|", n))
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.3f ms", v)
	case v < 1000:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func ratio(a, b time.Duration) string {
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

// roundTrips shows the wire count and, when it differs, the tracer's.
func roundTrips(wire int64, traced float64) string {
	if float64(wire) == traced {
		return fmt.Sprintf("%d", wire)
	}
	return fmt.Sprintf("%d (tracer %.3g)", wire, traced)
}

func minMax(ds []time.Duration) (lo, hi time.Duration) {
	lo, hi = ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

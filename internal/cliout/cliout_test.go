package cliout

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{850 * time.Microsecond, "850µs"},
		{12 * time.Millisecond, "12ms"},
		{1400 * time.Millisecond, "1.4s"},
		{42 * time.Second, "42s"},
		{3*time.Minute + 5*time.Second, "3m05s"},
		{2*time.Hour + 10*time.Minute + 59*time.Second, "2h10m"},
		{76 * time.Hour, "3d04h"},
		{-2 * time.Second, "-2.0s"},
	} {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		then time.Time
		want string
	}{
		{now.Add(-5*time.Minute - 10*time.Second - 300*time.Millisecond), "5m10s ago"},
		{now.Add(20*time.Second + 400*time.Millisecond), "in 20s"},
		{now.Add(-300 * time.Millisecond), "just now"},
	} {
		if got := Age(c.then, now); got != c.want {
			t.Errorf("Age(%v) = %q, want %q", now.Sub(c.then), got, c.want)
		}
	}
}

func TestTimesUseTheGivenZone(t *testing.T) {
	loc := time.FixedZone("XST", 5*3600+30*60)
	ts := time.Date(2025, 3, 1, 12, 0, 0, 250e6, time.UTC)
	if got, want := Time(ts, loc), "2025-03-01 17:30:00 XST"; got != want {
		t.Errorf("Time = %q, want %q", got, want)
	}
	if got, want := JSONTime(ts, loc), "2025-03-01T17:30:00.250+05:30"; got != want {
		t.Errorf("JSONTime = %q, want %q", got, want)
	}
	if Time(time.Time{}, loc) != "-" || JSONTime(time.Time{}, loc) != "" {
		t.Error("zero times must render as - and empty")
	}
}

func TestTableAlignsOnPlainTextEvenWhenColoured(t *testing.T) {
	tb := NewTable("CHANGE", "STATE", "NOTE")
	tb.Row(C("create-users"), S("APPLIED", Green), C(""))
	tb.Row(C("ü"), S("ROLLBACK_FAILED", Red), C("apply: boom\nsecond line"))
	var plain, colour bytes.Buffer
	if err := tb.Write(&plain, false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"CHANGE        STATE            NOTE\n" +
		"create-users  APPLIED\n" +
		"ü             ROLLBACK_FAILED  apply: boom …\n"
	if plain.String() != want {
		t.Fatalf("plain table:\n%s\nwant:\n%s", plain.String(), want)
	}
	if err := tb.Write(&colour, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colour.String(), "\x1b[31mROLLBACK_FAILED\x1b[0m  apply") {
		t.Errorf("coloured cell not padded after its reset code:\n%q", colour.String())
	}
	stripped := strings.NewReplacer("\x1b[1m", "", "\x1b[31m", "", "\x1b[32m", "", "\x1b[0m", "").Replace(colour.String())
	if stripped != want {
		t.Errorf("coloured table differs from plain once codes are stripped:\n%s", stripped)
	}
}

func TestColorOnlyOnATerminalAndNeverUnderNO_COLOR(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "NO_COLOR" {
				return v
			}
			return ""
		}
	}
	if ColorWanted(&bytes.Buffer{}, env("")) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ColorWanted(f, env("")) {
		t.Error("a regular file is not a terminal")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if IsTerminal(null) {
		t.Error("the null device is a character device but not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !IsTerminal(tty) {
			t.Error("/dev/tty should count as a terminal")
		}
		if ColorWanted(tty, env("1")) {
			t.Error("NO_COLOR must turn colour off even on a terminal")
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("abcdef", 4); got != "abc…" {
		t.Errorf("Truncate = %q", got)
	}
	if got := Truncate("abc", 4); got != "abc" {
		t.Errorf("Truncate = %q", got)
	}
}

// TestFitCutsFreeTextThenIDsNeverWhole: narrowing takes free text down to
// its header first, then ids; whole columns keep every rune, even when the
// table then stays wider than asked.
func TestFitCutsFreeTextThenIDsNeverWhole(t *testing.T) {
	build := func(width int) string {
		tb := NewTable("CHANGE", "STATE", "BY", "NOTE")
		tb.Mark(Whole, "STATE")
		tb.Mark(Free, "BY", "NOTE")
		tb.Row(C("backfill-invoices"), C("MANUAL_MARKED_AS_ROLLED_BACK"), C("oncall@example.com"), C("removed the rows by hand"))
		tb.Fit(width)
		var b bytes.Buffer
		if err := tb.Write(&b, false); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, c := range []struct {
		width int
		row   string
	}{
		{100, "backfill-invoices  MANUAL_MARKED_AS_ROLLED_BACK  oncall@example.com  removed the rows by hand"},
		{70, "backfill-invoices  MANUAL_MARKED_AS_ROLLED_BACK  oncall@e…  removed t…"},
		{58, "backfill-invoic…  MANUAL_MARKED_AS_ROLLED_BACK  onc…  rem…"},
		{50, "backfil…  MANUAL_MARKED_AS_ROLLED_BACK  onc…  rem…"},
		{20, "backf…  MANUAL_MARKED_AS_ROLLED_BACK  onc…  rem…"}, // wider than 20: the state stays whole
	} {
		if _, row, _ := strings.Cut(build(c.width), "\n"); row != c.row+"\n" {
			t.Errorf("at %d columns: %q, want %q", c.width, row, c.row)
		}
	}
}

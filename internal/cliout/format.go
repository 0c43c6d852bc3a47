package cliout

import (
	"fmt"
	"time"
)

// TimeLayout is how the CLI shows a time to people: local wall time to the
// second, with the zone's abbreviation (or offset when the zone has none).
const TimeLayout = "2006-01-02 15:04:05 MST"

// JSONTimeLayout is RFC 3339 with milliseconds and the zone offset: the
// precision audit stores keep, at a fixed width so that times sort as
// strings within one zone.
const JSONTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time formats t in loc for people. The zero time is shown as "-".
func Time(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(TimeLayout)
}

// JSONTime formats t in loc for scripts; the zero time is the empty string.
func JSONTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(JSONTimeLayout)
}

// Duration formats d in at most two units, the way people read them:
// 850µs, 12ms, 1.4s, 3m05s, 2h10m, 3d04h. Negative durations get a minus.
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-d)
	}
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	case d < time.Second:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", d/time.Second)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	day := 24 * time.Hour
	return fmt.Sprintf("%dd%02dh", d/day, d%day/time.Hour)
}

// Age says how far then is from now: "5m10s ago", or "in 20s" for a time in
// the future (a lease's expiry). Below a second it says "just now".
func Age(then, now time.Time) string {
	d := now.Sub(then)
	switch {
	case d > -time.Second && d < time.Second:
		return "just now"
	case d < 0:
		return "in " + Duration((-d).Truncate(time.Second))
	}
	return Duration(d.Truncate(time.Second)) + " ago"
}

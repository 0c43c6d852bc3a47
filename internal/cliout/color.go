package cliout

import (
	"io"
	"os"
)

// Style is how a cell or a word is painted when colour is on.
type Style int

// The styles the CLI uses. Plain is the zero value: no escape codes.
const (
	Plain Style = iota
	Bold
	Dim
	Red
	Green
	Yellow
	Cyan
)

var sgr = map[Style]string{
	Bold:   "\x1b[1m",
	Dim:    "\x1b[2m",
	Red:    "\x1b[31m",
	Green:  "\x1b[32m",
	Yellow: "\x1b[33m",
	Cyan:   "\x1b[36m",
}

const reset = "\x1b[0m"

// Paint wraps s in the escape codes of st when on is true, and returns s
// unchanged otherwise.
func Paint(s string, st Style, on bool) string {
	code, ok := sgr[st]
	if !on || !ok || s == "" {
		return s
	}
	return code + s + reset
}

// ColorWanted reports whether output written to w should be coloured: w
// must be a terminal and NO_COLOR (https://no-color.org) must be unset or
// empty. getenv is os.Getenv outside tests.
func ColorWanted(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	return IsTerminal(w)
}

// IsTerminal reports whether w is a character device other than the null
// device: a terminal, in practice. Pipes, regular files and in-memory
// buffers are not. This is the portable check the standard library allows;
// it keeps the module free of a terminal package.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// Package cliout renders the operations CLI's human output: aligned tables
// whose cells may be coloured, times in a chosen zone, and durations and
// ages in short human units. It decides whether colour is wanted (a terminal,
// and NO_COLOR unset) but knows nothing about flamingock itself.
//
// Tables are aligned here rather than with text/tabwriter because a cell's
// colour codes must not count towards its width; widths are measured in
// runes of the plain text.
package cliout

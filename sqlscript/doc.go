// Package sqlscript splits SQL scripts into statements, per dialect, the way
// each database's own client reads them: PostgreSQL dollar-quoted bodies,
// E-strings (E'...') and nested comments; MySQL and MariaDB DELIMITER blocks,
// backslash escapes and # comments; SQLite triggers whose BEGIN ... END
// bodies hold semicolons.
//
// It is a public package because the statements of an SQL-file change are
// split at run time, by the runtime, in the dialect of the target the change
// runs on (the generator knows only the target's id), and because targets
// hand SQL changes an [Execer] that names that dialect.
//
// Splitting never executes anything and never rewrites a statement: each
// [Statement] is a slice of the script, with the line it starts on, so an
// error can name the file, the line and the statement.
package sqlscript

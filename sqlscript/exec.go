package sqlscript

import (
	"context"
	"errors"
	"fmt"
)

// Execer runs one statement on a database, in the dialect it names.
// Targets provide one to SQL-file changes, over their transaction or their
// connection pool.
type Execer interface {
	Dialect() Dialect
	Exec(ctx context.Context, statement string) error
}

// StatementError is a statement of a script that failed.
type StatementError struct {
	File string // as given to Run
	Line int    // the line of the file on which the statement starts
	// Index is the statement's 1-based position in its section.
	Index int
	SQL   string
	Err   error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("%s:%d: statement %d failed: %v\n\t%s", e.File, e.Line, e.Index, e.Err, e.SQL)
}

func (e *StatementError) Unwrap() error { return e.Err }

// Run splits sec in e's dialect and executes its statements in order,
// stopping at the first that fails. file names the script in errors.
func Run(ctx context.Context, e Execer, file string, sec Section) error {
	stmts, err := Split(sec.SQL, e.Dialect())
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s:%d:%d: %s (splitting as %v)", file, sec.Line+se.Line-1, se.Col, se.Msg, e.Dialect())
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	for i, s := range stmts {
		if err := e.Exec(ctx, s.SQL); err != nil {
			return &StatementError{File: file, Line: sec.Line + s.Line - 1, Index: i + 1, SQL: s.SQL, Err: err}
		}
	}
	return nil
}

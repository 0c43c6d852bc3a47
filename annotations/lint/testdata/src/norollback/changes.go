// want package:"flamingock ids send-mail,silenced,with-rollback,transactional,stale-ignores"

// Package norollback has non-transactional changes with and without a
// rollback.
package norollback

import "context"

type Mailer struct{}

// want +2 `change "send-mail": transactional=false and no rollback: a failure halfway leaves SendMail partly applied with nothing to undo it; add a //flamingock:rollback send-mail function, or declare that there is none with "//flamingocklint:ignore norollback"`
//
//flamingock:change id=send-mail order=1 transactional=false
func SendMail(ctx context.Context, m *Mailer) error { return nil }

// Silenced passes: its doc comment says it has no rollback.
//
//flamingock:change id=silenced order=2 transactional=false
//flamingocklint:ignore norollback a sent mail cannot be unsent
func Silenced(ctx context.Context, m *Mailer) error { return nil }

// WithRollback passes: it can be undone.
//
//flamingock:change id=with-rollback order=3 transactional=false
func WithRollback(ctx context.Context, m *Mailer) error { return nil }

//flamingock:rollback with-rollback
func UndoWithRollback(ctx context.Context, m *Mailer) error { return nil }

// Transactional passes: its transaction undoes a failure.
//
//flamingock:change id=transactional order=4
func Transactional(ctx context.Context) error { return nil }

// Stale ignores: the first names no check, the second silences nothing.
//
//flamingock:change id=stale-ignores order=5
//flamingocklint:ignore norolback // want `//flamingocklint:ignore needs the name of the check to silence: "norollback" \(a non-transactional change without a rollback\) or "txescape"`
//flamingocklint:ignore norollback // want `//flamingocklint:ignore norollback silences nothing here; remove it`
func StaleIgnores(ctx context.Context) error { return nil }

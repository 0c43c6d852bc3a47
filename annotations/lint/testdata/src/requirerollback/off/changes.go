// want package:"flamingock ids create-users,rename-column"

// Package off is checked without -require-rollback, the default: a
// transactional change without a rollback passes, and an ignore comment
// that only -require-rollback would need silences nothing.
package off

import (
	"context"
	"database/sql"
)

// CreateUsers passes: its transaction undoes a failure, and undo is not
// required.
//
//flamingock:change id=create-users order=1
func CreateUsers(ctx context.Context, tx *sql.Tx) error { return nil }

//flamingock:change id=rename-column order=2
//flamingocklint:ignore norollback // want `//flamingocklint:ignore norollback silences nothing here; remove it`
func RenameColumn(ctx context.Context, tx *sql.Tx) error { return nil }

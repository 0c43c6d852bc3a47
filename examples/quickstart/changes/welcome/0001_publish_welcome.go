package welcome

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/flamingock/flamingock-go/examples/quickstart/outbox"
)

const message = "welcome-admin.json"

// PublishWelcome announces the administrator account to the outbox. It
// reads the database through the registered *sql.DB and writes to the
// outbox, neither inside a transaction.
//
//flamingock:change id=publish-welcome author=carol target=outbox transactional=false
func PublishWelcome(ctx context.Context, box *outbox.Outbox, db *sql.DB) error {
	var email string
	if err := db.QueryRowContext(ctx, `SELECT email FROM accounts ORDER BY id LIMIT 1`).Scan(&email); err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"type": "welcome", "email": email})
	if err != nil {
		return err
	}
	return box.Publish(message, body)
}

// UnpublishWelcome removes the message if PublishWelcome failed after
// writing it.
//
//flamingock:rollback publish-welcome
func UnpublishWelcome(ctx context.Context, box *outbox.Outbox, db *sql.DB) error {
	return box.Remove(message)
}

-- An SQL-file change beside the Go ones: the same directive keys, in an SQL
-- comment, and the order from the file name. It runs in the target's
-- transaction like the Go changes of this stage.
-- flamingock:change id=account-events author=carol target=app-db description="Log status changes of accounts"
CREATE TABLE account_events (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    old_status TEXT NOT NULL,
    new_status TEXT NOT NULL
);

-- The trigger's body holds semicolons: the SQLite splitter keeps
-- BEGIN ... END together.
CREATE TRIGGER account_status_changed AFTER UPDATE OF status ON accounts
WHEN OLD.status <> NEW.status
BEGIN
    INSERT INTO account_events VALUES (NEW.id, OLD.status, NEW.status);
END;

-- flamingock:rollback
DROP TRIGGER account_status_changed;
DROP TABLE account_events;

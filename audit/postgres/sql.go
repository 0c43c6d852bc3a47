package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ddlLockKey is the pg_advisory_xact_lock key that serialises flamingock's
// schema creation in a database, so that instances starting together do not
// race on the catalog (concurrent CREATE ... IF NOT EXISTS can fail with a
// unique violation in pg_type or pg_namespace). targets/postgres uses the
// same key for its marker table, as both may create the same schema.
const ddlLockKey = 0x666c616d696e676f // "flamingo"

// entryColumns are the columns an append writes, in the order of
// entryArgs. seq and created_at are assigned by the database.
var entryColumns = []string{
	"run_id", "stage", "change_id", "author", "change_order", "state", "target_id",
	"tx_strategy", "recovery", "checksum", "duration_ns", "host", "pid",
	"tool_version", "actor", "reason", "error", "metadata", "token",
}

// entryCasts gives each entry column's parameter an explicit type, so the
// statements mean the same under every pgx query exec mode, including
// exec and simple_protocol, where the server does not describe them first.
var entryCasts = []string{
	"text", "text", "text", "text", "text", "text", "text",
	"text", "text", "text", "bigint", "text", "integer",
	"text", "text", "text", "text", "jsonb", "bigint",
}

// selectColumns is what every read of an entry selects, in scanEntry's
// order.
var selectColumns = "seq, created_at, " + strings.Replace(strings.Join(entryColumns, ", "), "metadata", "metadata::text", 1)

// queries are the store's statements with its table names spliced in.
type queries struct {
	ddl          string
	append       string
	appendStrict string
	snapshot     string
	history      string // without WHERE / ORDER BY
	acquire      string
	holder       string
	refresh      string
	release      string
	lockInfo     string
	forceFree    string
}

func buildQueries(c config) queries {
	history, latest, lock := c.qualify(c.history), c.qualify(c.latest), c.qualify(c.lock)
	return queries{
		ddl:          ddl(c),
		append:       appendSQL(history, latest, lock),
		appendStrict: strings.TrimSuffix(appendSQL(history, latest, lock), finalSelect) + strictSelect,
		snapshot:     "SELECT " + selectColumns + " FROM " + latest,
		history:      "SELECT " + selectColumns + " FROM " + history,
		acquire:      acquireSQL(lock),
		holder:       "SELECT host, pid, run_id, token, acquired_at, expires_at FROM " + lock + " WHERE lock_key = $1::text AND held",
		refresh:      refreshSQL(lock),
		release:      "UPDATE " + lock + " SET held = false WHERE lock_key = $1::text AND held AND token = $2::bigint",
		lockInfo:     "SELECT host, pid, run_id, token, acquired_at, expires_at, clock_timestamp() FROM " + lock + " WHERE lock_key = $1::text AND held",
		forceFree:    "UPDATE " + lock + " SET held = false WHERE lock_key = $1::text AND held",
	}
}

// Schema returns the SQL script (DDL) that creates the store's schema, when
// [WithSchema] names one, and its tables, for databases where the store runs
// [WithoutAutoCreate]. The statements are idempotent and separated by ";\n".
func Schema(opts ...Option) (string, error) {
	c, err := newConfig(opts)
	if err != nil {
		return "", err
	}
	return ddl(c), nil
}

func ddl(c config) string {
	var b strings.Builder
	if c.schema != "" {
		fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n", pgx.Identifier{c.schema}.Sanitize())
	}
	entryTable := func(name, seq, constraint string) {
		fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", c.qualify(name))
		b.WriteString(seq)
		b.WriteString(`    created_at   timestamptz NOT NULL,
    run_id       text        NOT NULL,
    stage        text        NOT NULL,
    change_id    text        NOT NULL,
    author       text        NOT NULL,
    change_order text        NOT NULL,
    state        text        NOT NULL,
    target_id    text        NOT NULL,
    tx_strategy  text        NOT NULL,
    recovery     text        NOT NULL,
    checksum     text        NOT NULL,
    duration_ns  bigint      NOT NULL,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    tool_version text        NOT NULL,
    actor        text        NOT NULL,
    reason       text        NOT NULL,
    error        text        NOT NULL,
    metadata     jsonb,
    token        bigint      NOT NULL`)
		b.WriteString(constraint)
		b.WriteString("\n);\n")
	}
	entryTable(c.history, "    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n", "")
	fmt.Fprintf(&b, "CREATE INDEX IF NOT EXISTS %s ON %s (change_id, seq);\n",
		pgx.Identifier{c.changeIndex()}.Sanitize(), c.qualify(c.history))
	entryTable(c.latest, "    seq          bigint      NOT NULL,\n", ",\n    PRIMARY KEY (change_id)")
	fmt.Fprintf(&b, `CREATE TABLE IF NOT EXISTS %s (
    lock_key    text        PRIMARY KEY,
    host        text        NOT NULL,
    pid         integer     NOT NULL,
    run_id      text        NOT NULL,
    token       bigint      NOT NULL,
    held        boolean     NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
`, c.qualify(c.lock))
	return b.String()
}

// appendSQL is the fenced append: one statement that inserts the entry into
// the history only if the writer's token is the current, unexpired lease,
// and upserts the latest state from the inserted row. Because it is one
// statement there is no window between the check and the writes.
//
// The lease check locks the lock row FOR SHARE until the transaction ends.
// A takeover (which updates that row) therefore waits for an append in
// flight to commit or roll back, and the new holder's first read sees the
// entry; an append that meets an uncommitted takeover waits for it and then
// re-checks the token against the committed row.
//
// The lease is judged with clock_timestamp(), not now(): inside a
// transaction that has been open for minutes, now() is the time it began.
func appendSQL(history, latest, lock string) string {
	n := len(entryColumns)
	params := make([]string, n)
	for i, cast := range entryCasts {
		params[i] = fmt.Sprintf("$%d::%s", i+1, cast)
	}
	cols := strings.Join(entryColumns, ", ")
	sets := make([]string, 0, n+2)
	for _, c := range append([]string{"seq", "created_at"}, entryColumns...) {
		if c != "change_id" {
			sets = append(sets, c+" = excluded."+c)
		}
	}
	return fmt.Sprintf(`WITH ins AS (
    INSERT INTO %[1]s (created_at, %[4]s)
    SELECT clock_timestamp(), %[5]s
    WHERE EXISTS (
        SELECT 1 FROM %[3]s
        WHERE lock_key = $%[6]d::text AND held AND token = $%[7]d::bigint AND expires_at > clock_timestamp()
        FOR SHARE)
    RETURNING seq, created_at, %[4]s
), upsert AS (
    INSERT INTO %[2]s AS l (seq, created_at, %[4]s)
    SELECT seq, created_at, %[4]s FROM ins
    ON CONFLICT (change_id) DO UPDATE SET %[8]s
    WHERE l.seq < excluded.seq
)
`+finalSelect,
		history, latest, lock, cols, strings.Join(params, ", "), n+1, n, strings.Join(sets, ", "))
}

// finalSelect ends the append: no row back means fenced.
const finalSelect = "SELECT seq, created_at FROM ins"

// strictSelect ends the append used in a pipeline with COMMIT, where a
// rejected append must be an error so that the server skips the COMMIT:
// with no inserted row, the outer join yields NULLs and the cast of
// fencedMessage to integer fails at run time (the CASE depends on the row,
// so the planner cannot fold the cast away).
const strictSelect = "SELECT i.seq, i.created_at, CAST(CASE WHEN i.seq IS NULL THEN '" + fencedMessage + "' END AS integer)" +
	" FROM (SELECT 1) AS one LEFT JOIN ins AS i ON true"

// fencedMessage is the text strictSelect's failing cast carries, which
// identifies the error as a rejected append.
const fencedMessage = "flamingock: fenced"

// acquireSQL takes the lock in one conditional upsert: it inserts the lock
// row on first use, and otherwise takes it over only if it is released or
// expired by the database's clock. The token grows by one on every
// acquisition; the row is never deleted, so it never starts over.
func acquireSQL(lock string) string {
	return fmt.Sprintf(`WITH now AS (SELECT clock_timestamp() AS t)
INSERT INTO %[1]s AS l (lock_key, host, pid, run_id, token, held, acquired_at, expires_at)
SELECT $1::text, $2::text, $3::integer, $4::text, 1, true, now.t, now.t + $5::bigint * interval '1 microsecond' FROM now
ON CONFLICT (lock_key) DO UPDATE SET
    host = excluded.host, pid = excluded.pid, run_id = excluded.run_id,
    token = l.token + 1, held = true,
    acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
WHERE NOT l.held OR l.expires_at <= clock_timestamp()
RETURNING token, acquired_at, expires_at`, lock)
}

// refreshSQL extends a lease that is still current and unexpired.
func refreshSQL(lock string) string {
	return fmt.Sprintf(`UPDATE %s
SET expires_at = clock_timestamp() + $3::bigint * interval '1 microsecond'
WHERE lock_key = $1::text AND held AND token = $2::bigint AND expires_at > clock_timestamp()
RETURNING acquired_at, expires_at`, lock)
}

package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/flamingock/flamingock-go/audit"
)

// ddlLockKey is the pg_advisory_xact_lock key that serialises flamingock's
// schema creation in a database, so that instances starting together do not
// race on the catalog (concurrent CREATE ... IF NOT EXISTS can fail with a
// unique violation in pg_type or pg_namespace). targets/pgtarget uses the
// same key for its marker table, as both may create the same schema.
const ddlLockKey = 0x666c616d696e676f // "flamingo"

// entryColumns are the columns an append writes, in the order of
// appendArgs. seq and created_at are assigned by the database.
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

// digestColumns are the latest-state table's columns that keep the applied
// digest up to date, in the order ddl adds them. [New] looks for all of
// them, so a table created before they existed is upgraded.
var digestColumns = []string{"digest_hi", "digest_lo", "delta_count", "delta_hi", "delta_lo"}

// appliedStatesSQL is the SQL list of the states [audit.IsAppliedState]
// counts, for the append to judge the state it replaces.
func appliedStatesSQL() string {
	var in []string
	for _, st := range audit.States {
		if audit.IsAppliedState(st) {
			in = append(in, "'"+string(st)+"'")
		}
	}
	return "(" + strings.Join(in, ", ") + ")"
}

// queries are the store's statements with its table names spliced in.
// The creation script is not among them: [New] builds it only when a table
// is missing.
type queries struct {
	probe        string
	check        string
	digest       string
	digestValid  string
	invalidate   string
	derive       string
	latestStats  string
	orphaned     string
	clearLatest  string
	refill       string
	raiseSeq     string
	digestSave   string
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

// The names of the triggers that mark the derived tables stale when the
// history or the latest-state table is edited by hand (see ddl).
const (
	guardTrigger      = "flamingock_edited"
	guardRowTrigger   = "flamingock_edited_row"
	unrecordedTrigger = "flamingock_unrecorded"
)

// guardTriggers is how many guard triggers the probe must find. A schema
// from before a trigger was added has fewer, and New runs the creation
// script again.
const guardTriggers = 4

func buildQueries(c config) queries {
	history, latest, lock, digest := c.qualify(c.history), c.qualify(c.latest), c.qualify(c.lock), c.qualify(c.digestTable())
	appendSQL := appendSQL(history, latest, lock, digest)
	var values []string
	for _, col := range append([]string{"seq", "created_at"}, entryColumns...) {
		values = append(values, "h."+col)
	}
	return queries{
		// Planned, it fails when a table or column is missing. Run, it
		// says whether the newest history entry is its change's latest
		// state (every append makes it so; it is not after the latest
		// states were re-created or rows were inserted by hand, and an
		// emptied history beside latest states fails it too), with two
		// index lookups whatever the number of changes, and counts the
		// guard triggers.
		probe: "SELECT coalesce((SELECT (SELECT l.seq FROM " + latest + " AS l WHERE l.change_id = h.change_id) IS DISTINCT FROM h.seq" +
			" FROM (SELECT seq, change_id FROM " + history + " ORDER BY seq DESC LIMIT 1) AS h), EXISTS (SELECT 1 FROM " + latest + "))," +
			" (SELECT count(*) FROM pg_catalog.pg_trigger WHERE (tgrelid = to_regclass($1::text) AND tgname = '" + guardTrigger + "')" +
			" OR (tgrelid = to_regclass($2::text) AND tgname IN ('" + guardTrigger + "', '" + guardRowTrigger + "', '" + unrecordedTrigger + "')))," +
			" (SELECT 1 FROM " + lock + " WHERE false), (SELECT 1 FROM " + digest + " WHERE false)," +
			" (SELECT 1 FROM " + latest + " WHERE false AND (" + strings.Join(digestColumns, ", ") + ") IS NULL)",
		check: "SELECT to_regclass($1::text) IS NOT NULL, to_regclass($2::text) IS NOT NULL, to_regclass($3::text) IS NOT NULL, to_regclass($4::text) IS NOT NULL," +
			" (SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($2::text) AND attname = ANY($5::text[]) AND NOT attisdropped)",
		digest:      "SELECT applied_count, sum_hi, sum_lo FROM " + digest + " WHERE lock_key = $1::text",
		digestValid: "SELECT applied_count IS NOT NULL AND sum_hi IS NOT NULL AND sum_lo IS NOT NULL FROM " + digest + " WHERE lock_key = $1::text",
		invalidate:  "UPDATE " + digest + " SET applied_count = NULL, sum_hi = NULL, sum_lo = NULL",
		derive:      "SELECT DISTINCT ON (change_id) seq, change_id, state, checksum FROM " + history + " ORDER BY change_id, seq DESC",
		// Whether the latest state that kept an append's upsert from
		// writing is an entry of the history (the same seq, change and
		// store-clock time): after a concurrent append for the same change
		// it is; after the history was replaced under the latest states
		// (its sequence started again) it is not.
		orphaned: "SELECT NOT EXISTS (SELECT 1 FROM " + latest + " AS l JOIN " + history + " AS h" +
			" ON h.seq = l.seq AND h.change_id = l.change_id AND h.created_at = l.created_at WHERE l.change_id = $1::text)",
		latestStats: "SELECT count(*), coalesce(max(seq), 0), coalesce((SELECT max(seq) FROM " + history + "), 0) FROM " + latest,
		clearLatest: "DELETE FROM " + latest,
		refill: "INSERT INTO " + latest + " (seq, created_at, " + strings.Join(entryColumns, ", ") + ", " + strings.Join(digestColumns, ", ") + ")" +
			" SELECT " + strings.Join(values, ", ") + ", v.hi, v.lo, 0, 0, 0 FROM " + history + " AS h" +
			" JOIN unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(seq, hi, lo) ON h.seq = v.seq",
		// Never lowers the sequence: at least its last value, and above
		// every seq the latest states held.
		raiseSeq: "SELECT setval(q.s, greatest($1::bigint, coalesce(pg_sequence_last_value(q.s), 0)))" +
			" FROM (SELECT pg_get_serial_sequence(" + quoteLiteral(history) + ", 'seq')::regclass AS s) AS q",
		// The rebuild's own DELETE marked every key's row unknown; they
		// all summarise the same latest states, so all get the result
		// (else two keys on one set of tables would take turns rebuilding).
		digestSave: "WITH others AS (UPDATE " + digest + " SET applied_count = $2::bigint, sum_hi = $3::bigint, sum_lo = $4::bigint WHERE lock_key <> $1::text)" +
			" INSERT INTO " + digest + " AS d (lock_key, applied_count, sum_hi, sum_lo) VALUES ($1::text, $2::bigint, $3::bigint, $4::bigint)" +
			" ON CONFLICT (lock_key) DO UPDATE SET applied_count = excluded.applied_count, sum_hi = excluded.sum_hi, sum_lo = excluded.sum_lo",
		append:       appendSQL,
		appendStrict: strings.TrimSuffix(appendSQL, finalSelect) + strictSelect,
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
	history, latest, digest := c.qualify(c.history), c.qualify(c.latest), c.qualify(c.digestTable())
	// Never start an empty history beside tables derived from an old one.
	fmt.Fprintf(&b, `DO $flamingock$ BEGIN
    IF to_regclass(%[1]s) IS NULL AND (to_regclass(%[2]s) IS NOT NULL OR to_regclass(%[3]s) IS NOT NULL) THEN
        RAISE EXCEPTION '%[4]s: history table %% is missing while %% or %% exists', %[1]s, %[2]s, %[3]s;
    END IF;
END $flamingock$;
`, quoteLiteral(history), quoteLiteral(latest), quoteLiteral(digest), historyMissingMessage)
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
	// No index by change on the history: every append would pay for it,
	// and only History filtered by change id (an operator's query, and
	// the runner's after an interrupted change) would use it. Stores
	// created by earlier versions keep the one they have.
	latestExtra := ""
	for _, col := range digestColumns {
		latestExtra += fmt.Sprintf(",\n    %-12s %s", col, digestColumnType(col))
	}
	entryTable(c.latest, "    seq          bigint      NOT NULL,\n", latestExtra+",\n    PRIMARY KEY (change_id)")
	// A latest-state table created before the digest columns existed gets
	// them here; its rows keep NULL digests until AppliedDigest fills them.
	adds := make([]string, len(digestColumns))
	for i, col := range digestColumns {
		adds[i] = fmt.Sprintf("ADD COLUMN IF NOT EXISTS %s %s", col, digestColumnType(col))
	}
	fmt.Fprintf(&b, "ALTER TABLE %s %s;\n", c.qualify(c.latest), strings.Join(adds, ", "))
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
	fmt.Fprintf(&b, `CREATE TABLE IF NOT EXISTS %s (
    lock_key      text   PRIMARY KEY,
    applied_count bigint,
    sum_hi        bigint,
    sum_lo        bigint
);
`, digest)
	// While the trail is empty the digest is known to be zero; otherwise
	// the first read rebuilds it from the history.
	fmt.Fprintf(&b, "INSERT INTO %s (lock_key, applied_count, sum_hi, sum_lo) SELECT %s, 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM %s) AND NOT EXISTS (SELECT 1 FROM %s) ON CONFLICT (lock_key) DO NOTHING;\n",
		digest, quoteLiteral(c.lockKey), history, latest)
	// A latest-state table (re)created empty beside a history with
	// entries is stale: mark the digest so, and the first read rebuilds
	// both from the history.
	fmt.Fprintf(&b, "UPDATE %s SET applied_count = NULL, sum_hi = NULL, sum_lo = NULL WHERE EXISTS (SELECT 1 FROM %s) AND NOT EXISTS (SELECT 1 FROM %s);\n",
		digest, history, latest)
	// A lock row (re)created beside a trail starts above every fencing
	// token the trail's entries carry, so tokens never go backwards.
	fmt.Fprintf(&b, `INSERT INTO %[1]s AS l (lock_key, host, pid, run_id, token, held, acquired_at, expires_at)
SELECT %[2]s, '', 0, '', m.token, false, clock_timestamp(), clock_timestamp()
FROM (SELECT greatest((SELECT max(token) FROM %[3]s), (SELECT max(token) FROM %[4]s)) AS token) AS m WHERE m.token IS NOT NULL
ON CONFLICT (lock_key) DO UPDATE SET token = excluded.token WHERE l.token < excluded.token;
`, c.qualify(c.lock), quoteLiteral(c.lockKey), history, latest)
	// Guards: the store itself only inserts into the history and moves a
	// latest-state row to a larger seq. Any other write to either table
	// (an operator's UPDATE, DELETE or TRUNCATE) marks the digest unknown,
	// and the next read rebuilds the latest states and the digest from the
	// history. History INSERTs fire nothing, and the row trigger's WHEN is
	// false for the store's own upserts, so appends pay (almost) nothing.
	guard := c.qualify(c.guardFunction())
	fmt.Fprintf(&b, `CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $flamingock$
BEGIN
    UPDATE %[2]s SET applied_count = NULL, sum_hi = NULL, sum_lo = NULL WHERE applied_count IS NOT NULL;
    RETURN NULL;
END $flamingock$;
DROP TRIGGER IF EXISTS %[3]s ON %[4]s;
CREATE TRIGGER %[3]s AFTER UPDATE OR DELETE OR TRUNCATE ON %[4]s FOR EACH STATEMENT EXECUTE PROCEDURE %[1]s();
DROP TRIGGER IF EXISTS %[3]s ON %[5]s;
CREATE TRIGGER %[3]s AFTER DELETE OR TRUNCATE ON %[5]s FOR EACH STATEMENT EXECUTE PROCEDURE %[1]s();
DROP TRIGGER IF EXISTS %[6]s ON %[5]s;
CREATE TRIGGER %[6]s AFTER UPDATE ON %[5]s FOR EACH ROW WHEN (NEW.seq <= OLD.seq) EXECUTE PROCEDURE %[1]s();
`, guard, digest, guardTrigger, history, latest, guardRowTrigger)
	// The store's own latest-state writes (an append's upsert, a rebuild)
	// copy a history entry that the same statement or transaction wrote
	// before: an inserted row, or a row moved to a larger seq, that is no
	// entry of the history was written by hand. A trigger's WHEN cannot
	// hold a subquery, so the function looks; one lookup of the history's
	// primary key per written row.
	fmt.Fprintf(&b, `CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $flamingock$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM %[3]s WHERE seq = NEW.seq AND change_id = NEW.change_id AND state = NEW.state) THEN
        UPDATE %[2]s SET applied_count = NULL, sum_hi = NULL, sum_lo = NULL WHERE applied_count IS NOT NULL;
    END IF;
    RETURN NULL;
END $flamingock$;
DROP TRIGGER IF EXISTS %[4]s ON %[5]s;
CREATE TRIGGER %[4]s AFTER INSERT OR UPDATE ON %[5]s FOR EACH ROW EXECUTE PROCEDURE %[1]s();
`, c.qualify(c.unrecordedFunction()), digest, history, unrecordedTrigger, latest)
	return b.String()
}

// digestColumnType is the SQL type of one of digestColumns. They are
// nullable so that ALTER TABLE can add them to a table that has rows.
func digestColumnType(col string) string {
	if col == "delta_count" {
		return "smallint"
	}
	return "bigint"
}

// quoteLiteral quotes s as an SQL string literal. The E'...' form reads
// backslashes the same whatever standard_conforming_strings is.
func quoteLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
}

// appendSQL is the fenced append: one statement that inserts the entry into
// the history only if the writer's token is the current, unexpired lease,
// upserts the latest state from the inserted row, and folds the change this
// makes to the applied digest into the digest row. Because it is one
// statement there is no window between the check and the writes, and the
// digest cannot diverge from the latest states.
//
// The lease check locks the lock row FOR SHARE until the transaction ends.
// A takeover (which updates that row) therefore waits for an append in
// flight to commit or roll back, and the new holder's first read sees the
// entry; an append that meets an uncommitted takeover waits for it and then
// re-checks the token against the committed row.
//
// The digest delta is computed by the upsert, from the row version it
// replaces (ON CONFLICT DO UPDATE waits for a concurrent writer of the row
// and then works on the version it committed), and kept in the row's delta
// columns so that RETURNING, which shows only new values, can hand it on:
// XOR out the old digest if the old state was applied, XOR in the new one
// if the new state is. A legacy row without a digest yields a NULL delta,
// which makes the digest row NULL, which AppliedDigest recomputes; so does
// a missing digest row, which the UPDATE leaves missing. An append that
// changes nothing applied leaves the digest row alone (no write, no row
// lock).
//
// Each data-modifying CTE costs executor set-up on every append, so there
// are three: splitting the upsert into UPDATE-if-present and
// INSERT-if-absent, or upserting the digest row, each saved a WAL record on
// some appends but cost more time than it saved (docs/audit-stores.md).
//
// The lease is judged with clock_timestamp(), not now(): inside a
// transaction that has been open for minutes, now() is the time it began.
func appendSQL(history, latest, lock, digest string) string {
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
	// $n+1 lock key, $n+2/$n+3 the entry's digest halves, $n+4 whether the
	// entry's state counts as applied.
	key, hi, lo, applied := n+1, n+2, n+3, n+4
	wasApplied := "l.state IN " + appliedStatesSQL()
	return fmt.Sprintf(`WITH ins AS (
    INSERT INTO %[1]s (created_at, %[4]s)
    SELECT clock_timestamp(), %[5]s
    WHERE EXISTS (
        SELECT 1 FROM %[3]s
        WHERE lock_key = $%[6]d::text AND held AND token = $%[7]d::bigint AND expires_at > clock_timestamp()
        FOR SHARE)
    RETURNING seq, created_at, %[4]s
), upsert AS (
    INSERT INTO %[2]s AS l (seq, created_at, %[4]s, digest_hi, digest_lo, delta_count, delta_hi, delta_lo)
    SELECT seq, created_at, %[4]s, $%[10]d::bigint, $%[11]d::bigint,
        CASE WHEN $%[12]d::boolean THEN 1 ELSE 0 END,
        CASE WHEN $%[12]d::boolean THEN $%[10]d::bigint ELSE 0 END,
        CASE WHEN $%[12]d::boolean THEN $%[11]d::bigint ELSE 0 END
    FROM ins
    ON CONFLICT (change_id) DO UPDATE SET %[8]s,
        digest_hi = excluded.digest_hi, digest_lo = excluded.digest_lo,
        delta_count = excluded.delta_count - CASE WHEN %[13]s THEN 1 ELSE 0 END,
        delta_hi = excluded.delta_hi # CASE WHEN %[13]s THEN l.digest_hi ELSE 0 END,
        delta_lo = excluded.delta_lo # CASE WHEN %[13]s THEN l.digest_lo ELSE 0 END
    WHERE l.seq < excluded.seq
    RETURNING delta_count, delta_hi, delta_lo
), summary AS (
    UPDATE %[9]s AS d
    SET applied_count = d.applied_count + u.delta_count, sum_hi = d.sum_hi # u.delta_hi, sum_lo = d.sum_lo # u.delta_lo
    FROM upsert AS u
    WHERE d.lock_key = $%[6]d::text
      AND (u.delta_count IS DISTINCT FROM 0 OR u.delta_hi IS DISTINCT FROM 0 OR u.delta_lo IS DISTINCT FROM 0)
)
`+finalSelect,
		history, latest, lock, cols, strings.Join(params, ", "), key, n, strings.Join(sets, ", "),
		digest, hi, lo, applied, wasApplied)
}

// finalSelect ends the append: no row back means fenced. The last column
// says whether the latest-state upsert wrote (see Store.checkSkippedUpsert).
const finalSelect = "SELECT seq, created_at, EXISTS (SELECT 1 FROM upsert) FROM ins"

// strictSelect ends the append used in a pipeline with COMMIT, where a
// rejected append must be an error so that the server skips the COMMIT:
// with no inserted row, the outer join yields NULLs and the cast of
// fencedMessage to integer fails at run time (the CASE depends on the row,
// so the planner cannot fold the cast away).
const strictSelect = "SELECT i.seq, i.created_at, CAST(CASE WHEN i.seq IS NULL THEN '" + fencedMessage + "' END AS integer), EXISTS (SELECT 1 FROM upsert)" +
	" FROM (SELECT 1) AS one LEFT JOIN ins AS i ON true"

// historyMissingMessage starts the error the creation script raises when
// the history is missing beside tables derived from it.
const historyMissingMessage = "flamingock: audit history missing"

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

package mysql

import (
	"fmt"
	"strings"

	"github.com/flamingock/flamingock-go/audit"
)

// entryColumns are the columns an append writes, in the order of
// entryArgs. seq is assigned by the database (AUTO_INCREMENT) and
// created_at is the database clock read by the append's lease check.
var entryColumns = []string{
	"run_id", "stage", "change_id", "author", "change_order", "state", "target_id",
	"tx_strategy", "recovery", "checksum", "duration_ns", "host", "pid",
	"tool_version", "actor", "reason", "error", "metadata", "token",
}

// selectColumns is what every read of an entry selects, in scanEntry's
// order.
var selectColumns = "seq, created_at, " + strings.Join(entryColumns, ", ")

// maxChangeID is the length, in characters, of the change_id key column.
const maxChangeID = 255

// maxText is the capacity in bytes of the MEDIUMTEXT columns. Append checks
// values against it rather than relying on the server: outside strict
// sql_mode MySQL truncates an oversized value with only a warning.
const maxText = 1<<24 - 1

// timeFormat is how timestamps travel to and from DATETIME(6) columns: as
// UTC wall-clock text, so the driver's parseTime and loc settings (which
// are the application's) cannot shift them.
const timeFormat = "2006-01-02 15:04:05.000000"

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
type queries struct {
	probe         string
	historyEmpty  string
	missing       string
	digest        string
	digestEnsure  string
	digestSeed    string
	digestLock    string
	digestLockAll string
	digestInit    string
	digestFix     string
	digestSave    string
	digestForget  string
	stale         string
	clearLatest   string
	rebuild       string
	fence         string
	digestApply   string
	insert        string
	upsert        string
	snapshot      string
	history       string // without WHERE / ORDER BY
	acquire       string
	lockRow       string
	lockExists    string
	maxToken      string
	acquired      string
	holder        string
	refresh       string
	release       string
	lockInfo      string
	forceFree     string
}

func buildQueries(c config) queries {
	history, latest, lock, digest := quote(c.history), quote(c.latest), quote(c.lock), quote(c.digestTable())
	cols := strings.Join(entryColumns, ", ")
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(entryColumns)), ", ")
	applied := appliedStatesSQL()

	// The latest row is replaced only by a newer entry. Appends are
	// serialised by the digest row, so this guard matters only when that
	// row is missing; seq is assigned last because MySQL evaluates the
	// assignments in order and the others compare against the old seq.
	newer := "seq < VALUES(seq)"
	var sets []string
	for _, col := range append([]string{"created_at"}, entryColumns...) {
		if col != "change_id" {
			sets = append(sets, fmt.Sprintf("%[1]s = IF(%[2]s, VALUES(%[1]s), %[1]s)", col, newer))
		}
	}
	sets = append(sets,
		"digest_hi = IF("+newer+", VALUES(digest_hi), digest_hi)",
		"digest_lo = IF("+newer+", VALUES(digest_lo), digest_lo)",
		"seq = GREATEST(seq, VALUES(seq))")

	return queries{
		// Names every table and column: a missing one fails the statement.
		// The guard triggers are not looked up: information_schema.triggers
		// costs milliseconds on every start, and they are created with
		// their tables (a table dropped by hand is recreated with its
		// guards by the same statements).
		probe: "SELECT (SELECT 1 FROM " + history + " WHERE 1 = 0), (SELECT 1 FROM " + lock + " WHERE 1 = 0), (SELECT 1 FROM " + digest + " WHERE 1 = 0)," +
			" (SELECT 1 FROM " + latest + " WHERE 1 = 0 AND digest_hi IS NULL AND digest_lo IS NULL)," +
			// The history leads the latest states (see tablesPresent).
			" (NOT EXISTS (SELECT 1 FROM " + history + ") AND EXISTS (SELECT 1 FROM " + latest + "))" +
			" OR COALESCE((SELECT NOT (l.seq <=> h.seq) FROM " + history + " AS h LEFT JOIN " + latest + " AS l ON l.change_id = h.change_id ORDER BY h.seq DESC LIMIT 1), FALSE)",
		historyEmpty: "SELECT NOT EXISTS (SELECT 1 FROM " + history + ") AND EXISTS (SELECT 1 FROM " + latest + ")",
		missing:      "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",

		digest:       "SELECT applied_count, sum_hi, sum_lo FROM " + digest + " WHERE lock_key = ?",
		digestEnsure: "INSERT INTO " + digest + " (lock_key, applied_count, sum_hi, sum_lo) VALUES (?, NULL, NULL, NULL) ON DUPLICATE KEY UPDATE lock_key = lock_key",
		digestSeed: "INSERT INTO " + digest + " (lock_key, applied_count, sum_hi, sum_lo) SELECT ?, 0, 0, 0 FROM DUAL" +
			" WHERE NOT EXISTS (SELECT 1 FROM " + latest + ") ON DUPLICATE KEY UPDATE lock_key = lock_key",
		digestLock:    "SELECT applied_count, sum_hi, sum_lo FROM " + digest + " WHERE lock_key = ? FOR UPDATE",
		digestLockAll: "SELECT lock_key FROM " + digest + " ORDER BY lock_key FOR UPDATE",
		digestInit:    "SELECT change_id, state, checksum FROM " + latest,
		digestFix:     "UPDATE " + latest + " SET digest_hi = ?, digest_lo = ? WHERE change_id = ?",
		// Every lock key's row gets the digest: keys that share the tables
		// share the latest states, and a rebuild for one must not leave the
		// others to rebuild in turn.
		digestSave:   "UPDATE " + digest + " SET applied_count = ?, sum_hi = ?, sum_lo = ?",
		digestForget: "UPDATE " + digest + " SET applied_count = NULL, sum_hi = NULL, sum_lo = NULL",
		stale:        "SELECT applied_count IS NULL OR sum_hi IS NULL OR sum_lo IS NULL FROM " + digest + " WHERE lock_key = ?",
		clearLatest:  "DELETE FROM " + latest,
		// The latest state of every change, from the history: the entry
		// with the highest seq per change.
		rebuild: "INSERT INTO " + latest + " (" + selectColumns + ")" +
			" SELECT " + selectColumns + " FROM " + history + " WHERE seq IN (SELECT max(seq) FROM " + history + " GROUP BY change_id)",

		// The fence: the writer's token must be the lock row's current,
		// unexpired one, judged by the database clock. The shared lock on
		// the row makes a takeover (which updates it) wait for this append
		// to end, and this append wait for a takeover in flight.
		fence: "SELECT UTC_TIMESTAMP(6) FROM " + lock + " WHERE lock_key = ? AND held AND token = ? AND expires_at > UTC_TIMESTAMP(6) LOCK IN SHARE MODE",
		// The digest row's update, read from the latest state it replaces:
		// XOR out the old digest if the old state was applied, XOR in the
		// new one (the parameters are zero unless the new state is
		// applied). It also locks the digest row, which serialises appends.
		// A NULL (unknown) digest stays NULL until AppliedDigest recomputes
		// it; MySQL's ^ works on unsigned 64-bit values, which is why the
		// halves are BIGINT UNSIGNED.
		digestApply: "UPDATE " + digest + " AS d LEFT JOIN " + latest + " AS l ON l.change_id = ?" +
			" SET d.applied_count = d.applied_count + ? - IF(l.state IN " + applied + ", 1, 0)," +
			" d.sum_hi = d.sum_hi ^ ? ^ IF(l.state IN " + applied + ", l.digest_hi, 0)," +
			" d.sum_lo = d.sum_lo ^ ? ^ IF(l.state IN " + applied + ", l.digest_lo, 0)" +
			" WHERE d.lock_key = ?",
		insert: "INSERT INTO " + history + " (created_at, " + cols + ") VALUES (?, " + marks + ")",
		upsert: "INSERT INTO " + latest + " (seq, created_at, " + cols + ", digest_hi, digest_lo) VALUES (?, ?, " + marks + ", ?, ?)" +
			" ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", "),

		snapshot: "SELECT " + selectColumns + " FROM " + latest,
		history:  "SELECT " + selectColumns + " FROM " + history,

		// Taking the lock: the row is created once, released, and from then
		// on only updated, so the token never starts over. The conditional
		// update takes it if it is released or expired by the database
		// clock; UTC_TIMESTAMP is fixed for the statement, so acquired_at
		// and expires_at are exactly ttl apart.
		lockExists: "SELECT 1 FROM " + lock + " WHERE lock_key = ?",
		maxToken:   "SELECT GREATEST(COALESCE((SELECT max(token) FROM " + history + "), 0), COALESCE((SELECT max(token) FROM " + latest + "), 0))",
		lockRow: "INSERT INTO " + lock + " (lock_key, host, pid, run_id, token, held, acquired_at, expires_at)" +
			" VALUES (?, '', 0, '', ?, FALSE, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE lock_key = lock_key",
		acquire: "UPDATE " + lock + " SET host = ?, pid = ?, run_id = ?, token = token + 1, held = TRUE," +
			" acquired_at = UTC_TIMESTAMP(6), expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND" +
			" WHERE lock_key = ? AND (NOT held OR expires_at <= UTC_TIMESTAMP(6))",
		acquired:  "SELECT token, acquired_at, expires_at FROM " + lock + " WHERE lock_key = ?",
		holder:    "SELECT host, pid, run_id, token, acquired_at, expires_at FROM " + lock + " WHERE lock_key = ? AND held",
		refresh:   "UPDATE " + lock + " SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, token = LAST_INSERT_ID(token) WHERE lock_key = ? AND held AND token = ? AND expires_at > UTC_TIMESTAMP(6)",
		release:   "UPDATE " + lock + " SET held = FALSE WHERE lock_key = ? AND held AND token = ?",
		lockInfo:  "SELECT host, pid, run_id, token, acquired_at, expires_at, UTC_TIMESTAMP(6) FROM " + lock + " WHERE lock_key = ? AND held",
		forceFree: "UPDATE " + lock + " SET held = FALSE WHERE lock_key = ? AND held",
	}
}

// Schema returns the SQL script (DDL) that creates the store's tables, for
// databases where the store runs [WithoutAutoCreate]. The statements are
// idempotent and separated by ";\n".
func Schema(opts ...Option) (string, error) {
	c, err := newConfig(opts)
	if err != nil {
		return "", err
	}
	return strings.Join(ddl(c), ";\n") + ";\n", nil
}

// tableOptions pins the engine (the store needs transactions and row
// locks) and a binary collation, so that change ids compare exactly.
const tableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

// seedIndex is the position of the digest row's seed among ddl's
// statements: after the tables, before the guard triggers.
const seedIndex = 4

// ddl returns the creation statements, each idempotent. MySQL runs every
// DDL statement in its own implicit transaction and serialises CREATE TABLE
// IF NOT EXISTS on a name with a metadata lock, so instances that run them
// at the same time do not fail; the digest row's insert is an upsert.
func ddl(c config) []string {
	hu, hd, lu, ld := c.guardTriggers()
	unrecorded := "NOT EXISTS (SELECT 1 FROM " + quote(c.history) + " WHERE seq = NEW.seq AND change_id = NEW.change_id AND state = NEW.state)"
	guard := func(name, event, table, cond string) string {
		return "CREATE TRIGGER IF NOT EXISTS " + quote(name) + " AFTER " + event + " ON " + quote(table) + " FOR EACH ROW UPDATE " + quote(c.digestTable()) +
			" SET applied_count = NULL, sum_hi = NULL, sum_lo = NULL WHERE applied_count IS NOT NULL" + cond
	}
	entryTable := func(name, seq, extra string) string {
		return "CREATE TABLE IF NOT EXISTS " + quote(name) + " (\n" + seq + `    created_at   DATETIME(6)  NOT NULL,
    run_id       MEDIUMTEXT   NOT NULL,
    stage        MEDIUMTEXT   NOT NULL,
    change_id    VARCHAR(255) NOT NULL,
    author       MEDIUMTEXT   NOT NULL,
    change_order MEDIUMTEXT   NOT NULL,
    state        VARCHAR(64)  NOT NULL,
    target_id    MEDIUMTEXT   NOT NULL,
    tx_strategy  VARCHAR(64)  NOT NULL,
    recovery     VARCHAR(64)  NOT NULL,
    checksum     MEDIUMTEXT   NOT NULL,
    duration_ns  BIGINT       NOT NULL,
    host         MEDIUMTEXT   NOT NULL,
    pid          INT          NOT NULL,
    tool_version MEDIUMTEXT   NOT NULL,
    actor        MEDIUMTEXT   NOT NULL,
    reason       MEDIUMTEXT   NOT NULL,
    error        MEDIUMTEXT   NOT NULL,
    metadata     MEDIUMTEXT   NULL,
    token        BIGINT       NOT NULL` + extra + "\n)" + tableOptions
	}
	return []string{
		// No index by change on the history: every append would pay for
		// it, and only History filtered by change id uses it.
		entryTable(c.history, "    seq          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,\n", ""),
		// digest_hi/lo are the change's digest, kept so that an append can
		// XOR out the digest of the state it replaces; NULL means unknown
		// (a rebuilt row), which AppliedDigest fills in.
		entryTable(c.latest, "    seq          BIGINT       NOT NULL,\n",
			",\n    digest_hi    BIGINT UNSIGNED NULL,\n    digest_lo    BIGINT UNSIGNED NULL,\n    PRIMARY KEY (change_id)"),
		"CREATE TABLE IF NOT EXISTS " + quote(c.lock) + ` (
    lock_key    VARCHAR(255) NOT NULL PRIMARY KEY,
    host        MEDIUMTEXT   NOT NULL,
    pid         INT          NOT NULL,
    run_id      MEDIUMTEXT   NOT NULL,
    token       BIGINT       NOT NULL,
    held        BOOLEAN      NOT NULL,
    acquired_at DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL
)` + tableOptions,
		"CREATE TABLE IF NOT EXISTS " + quote(c.digestTable()) + ` (
    lock_key      VARCHAR(255)    NOT NULL PRIMARY KEY,
    applied_count BIGINT          NULL,
    sum_hi        BIGINT UNSIGNED NULL,
    sum_lo        BIGINT UNSIGNED NULL
)` + tableOptions,
		// While the latest-state table is empty the digest is known to be
		// zero; otherwise AppliedDigest computes it on first use.
		"INSERT INTO " + quote(c.digestTable()) + " (lock_key, applied_count, sum_hi, sum_lo) SELECT " + quoteLiteral(c.lockKey) +
			", 0, 0, 0 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM " + quote(c.latest) + ") ON DUPLICATE KEY UPDATE lock_key = lock_key",
		// Guards: the store only inserts into the history and moves a
		// latest-state row to a larger seq. Any other write to either table
		// (an operator's UPDATE or DELETE) marks every digest unknown, and
		// the next read rebuilds the latest states and the digest from the
		// history. Inserts fire nothing, and the store's own upserts make
		// the latest table's update guard a statement with an impossible
		// WHERE. (TRUNCATE fires no trigger in MySQL; DROP is caught by New.)
		guard(hu, "UPDATE", c.history, ""),
		guard(hd, "DELETE", c.history, ""),
		guard(lu, "UPDATE", c.latest, " AND NEW.seq <= OLD.seq"),
		guard(ld, "DELETE", c.latest, ""),
		// The store's own latest-state writes (an append's upsert, a
		// rebuild) copy a history entry its transaction wrote before: an
		// inserted row, or a row moved to a larger seq, that is no entry
		// of the history was written by hand. One lookup of the history's
		// primary key per written row.
		guard(derivedName(c.latest, "_fg_ins"), "INSERT", c.latest, " AND "+unrecorded),
		guard(derivedName(c.latest, "_fg_rse"), "UPDATE", c.latest, " AND NEW.seq > OLD.seq AND "+unrecorded),
	}
}

// quoteLiteral quotes s as a MySQL string literal, escaping the backslash
// too, which MySQL reads as an escape unless NO_BACKSLASH_ESCAPES is set.
// It is only used in the script Schema returns, which must stand alone;
// New binds the lock key as a parameter instead.
func quoteLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
}

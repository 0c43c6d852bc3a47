package sqlite

import "strings"

// statements holds the store's SQL, built once from the validated table
// names.
type statements struct {
	insert       string
	prevLatest   string
	upsertLatest string
	updateDigest string
	renewLease   string
	snapshot     string
	history      string // without WHERE/ORDER/LIMIT
	readDigest   string
	hasDigest    string

	acquire      string
	refresh      string
	release      string
	forceRelease string
	lockInfo     string
}

func buildStatements(c config) statements {
	hist, latest, lock, digest := quote(c.historyTable), quote(c.latestTable), quote(c.lockTable), quote(c.digestTable())
	all := strings.Join(columnNames(), ", ")

	// The history insert: every column but seq, with created_at from
	// SQLite's clock, and no row at all unless the token is the current
	// lease's. The check and the insert are one statement inside the
	// caller's write transaction, so nothing can take the lock between
	// them. The last parameter is the token-only flag: when it is 0 the
	// lease must also be unexpired (Append); when it is 1 an expired lease
	// that nobody took over still passes (AppendTx, see there). A released
	// lease (expires_at = 0) keeps its token in the row and never passes.
	insertCols := columnNames("seq")
	values := make([]string, len(insertCols))
	for i, name := range insertCols {
		values[i] = "?"
		if name == "created_at" {
			values[i] = nowMillis
		}
	}
	insert := "INSERT INTO " + hist + " (" + strings.Join(insertCols, ", ") + ")" +
		" SELECT " + strings.Join(values, ", ") +
		" WHERE EXISTS (SELECT 1 FROM " + lock + " WHERE lock_key = ? AND token = ? AND expires_at > 0" +
		" AND (? OR expires_at > " + nowMillis + "))" +
		" RETURNING seq, created_at"

	var set []string
	for _, name := range columnNames("change_id") {
		set = append(set, name+" = excluded."+name)
	}
	// The WHERE on the SELECT is required: without it SQLite would read
	// ON CONFLICT as a join constraint.
	upsert := "INSERT INTO " + latest + " (" + all + ") SELECT " + all + " FROM " + hist + " WHERE seq = ?" +
		" ON CONFLICT (change_id) DO UPDATE SET " + strings.Join(set, ", ")

	return statements{
		insert: insert,
		// Read before the upsert, inside the same transaction, so the
		// digest update below XORs out exactly the row being replaced.
		prevLatest:   "SELECT state, checksum FROM " + latest + " WHERE change_id = ?",
		upsertLatest: upsert,
		// SQLite has no XOR operator: a ^ b = (a | b) & ~(a & b).
		updateDigest: "UPDATE " + digest + " SET applied_count = applied_count + ?1," +
			" sum_hi = (sum_hi | ?2) & ~(sum_hi & ?2), sum_lo = (sum_lo | ?3) & ~(sum_lo & ?3) WHERE id = 1",
		// The holder's lease runs again from the append; a lease that is
		// still longer (a refresh with a longer ttl) is not shortened.
		renewLease: "UPDATE " + lock + " SET expires_at = max(expires_at, " + nowMillis + " + ttl_ms)" +
			" WHERE lock_key = ? AND token = ?",
		snapshot:   "SELECT " + all + " FROM " + latest,
		history:    "SELECT " + all + " FROM " + hist,
		readDigest: "SELECT applied_count, sum_hi, sum_lo FROM " + digest + " WHERE id = 1",
		hasDigest:  "SELECT EXISTS (SELECT 1 FROM " + digest + " WHERE id = 1)",

		// A free row (released: expires_at = 0) or an expired one is
		// taken with the next token; a live one is left alone and the
		// statement returns no row. The first acquisition inserts token 1.
		acquire: "INSERT INTO " + lock + " (lock_key, token, owner_host, owner_pid, owner_run_id, acquired_at, expires_at, ttl_ms)" +
			" VALUES (?1, 1, ?2, ?3, ?4, " + nowMillis + ", " + nowMillis + " + ?5, ?5)" +
			" ON CONFLICT (lock_key) DO UPDATE SET token = token + 1, owner_host = excluded.owner_host," +
			" owner_pid = excluded.owner_pid, owner_run_id = excluded.owner_run_id," +
			" acquired_at = excluded.acquired_at, expires_at = excluded.expires_at, ttl_ms = excluded.ttl_ms" +
			" WHERE expires_at <= excluded.acquired_at" +
			" RETURNING token, acquired_at, expires_at",
		refresh: "UPDATE " + lock + " SET expires_at = " + nowMillis + " + ?1, ttl_ms = ?1" +
			" WHERE lock_key = ?2 AND token = ?3 AND expires_at > " + nowMillis +
			" RETURNING owner_host, owner_pid, owner_run_id, acquired_at, expires_at",
		// Release keeps the row, and so the token, for the next owner.
		release: "UPDATE " + lock + " SET owner_host = '', owner_pid = 0, owner_run_id = '', acquired_at = 0, expires_at = 0" +
			" WHERE lock_key = ? AND token = ? AND expires_at > 0",
		forceRelease: "UPDATE " + lock + " SET owner_host = '', owner_pid = 0, owner_run_id = '', acquired_at = 0, expires_at = 0" +
			" WHERE lock_key = ?",
		lockInfo: "SELECT token, owner_host, owner_pid, owner_run_id, acquired_at, expires_at, " + nowMillis +
			" FROM " + lock + " WHERE lock_key = ? AND expires_at > 0",
	}
}

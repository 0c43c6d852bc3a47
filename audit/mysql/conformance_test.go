package mysql_test

import (
	"context"
	"database/sql"
	"testing"
	"time"
	_ "time/tzdata" // a named zone for parseTime-zone, whatever the machine has

	driver "github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

// TestConformance runs the audit store suite with the driver's defaults
// (timestamps read as text) and with parseTime in a non-UTC zone, which
// must read the same instants.
func TestConformance(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string]func(*driver.Config){
		"text-times": func(*driver.Config) {},
		"parseTime-zone": func(c *driver.Config) {
			c.ParseTime = true
			c.Loc = kolkata
		},
	}
	for name, configure := range configs {
		t.Run(name, func(t *testing.T) {
			audittest.Run(t, func(t *testing.T) audittest.Opener {
				d := mytest.New(t)
				// Each opener call gets its own pool, as another process would.
				return func() (audit.Store, error) {
					return mysql.New(context.Background(), d.DB(t, configure))
				}
			})
		})
	}
}

// TestDamage runs the suite's damage cases: tables dropped, rows edited and
// garbled by hand with SQL, as an operator might.
func TestDamage(t *testing.T) {
	audittest.RunDamage(t, func(t *testing.T) audittest.DamageBackend {
		d := mytest.New(t)
		admin := d.DB(t)
		return audittest.DamageBackend{
			Open: func() (audit.Store, error) {
				return mysql.New(context.Background(), d.DB(t))
			},
			Damage: sqlDamager{db: admin, tables: map[audittest.Part]string{
				audittest.PartHistory: mysql.DefaultHistoryTable,
				audittest.PartLatest:  mysql.DefaultLatestTable,
				audittest.PartDigest:  mysql.DefaultHistoryTable + "_digest",
				audittest.PartLock:    mysql.DefaultLockTable,
			}},
		}
	})
}

// sqlDamager damages the store's tables with plain SQL, on a pool of its
// own.
type sqlDamager struct {
	db     *sql.DB
	tables map[audittest.Part]string
}

func (d sqlDamager) exec(stmt string, args ...any) error {
	_, err := d.db.Exec(stmt, args...)
	return err
}

func (d sqlDamager) Drop(p audittest.Part) error {
	return d.exec("DROP TABLE `" + d.tables[p] + "`")
}

// SetRaw writes the text as it is: metadata is a MEDIUMTEXT column, so any
// text, JSON or not, can be stored in it.
func (d sqlDamager) SetRaw(changeID, field, raw string) error {
	for _, p := range []audittest.Part{audittest.PartHistory, audittest.PartLatest} {
		if err := d.exec("UPDATE `"+d.tables[p]+"` SET `"+field+"` = ? WHERE change_id = ?", raw, changeID); err != nil {
			return err
		}
	}
	return nil
}

func (d sqlDamager) DeleteHistory(changeID string) error {
	return d.exec("DELETE FROM `"+d.tables[audittest.PartHistory]+"` WHERE change_id = ?", changeID)
}

func (d sqlDamager) SetLatestState(changeID, state string) error {
	return d.exec("UPDATE `"+d.tables[audittest.PartLatest]+"` SET state = ? WHERE change_id = ?", state, changeID)
}

// InsertLatest writes a latest-state row for changeID, copied from
// fromChangeID's, that no history entry is behind.
func (d sqlDamager) InsertLatest(changeID, fromChangeID, state string) error {
	latest := "`" + d.tables[audittest.PartLatest] + "`"
	conn, err := d.db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"CREATE TEMPORARY TABLE forged AS SELECT * FROM " + latest + " WHERE change_id = ?", []any{fromChangeID}},
		{"UPDATE forged SET change_id = ?, state = ?", []any{changeID, state}},
		{"INSERT INTO " + latest + " SELECT * FROM forged", nil},
		{"DROP TEMPORARY TABLE forged", nil},
	} {
		if _, err := conn.ExecContext(context.Background(), q.sql, q.args...); err != nil {
			return err
		}
	}
	return nil
}

// RaiseLatest moves changeID's latest-state row to a seq no history entry
// has, with state.
func (d sqlDamager) RaiseLatest(changeID, state string) error {
	return d.exec("UPDATE `"+d.tables[audittest.PartLatest]+"` SET state = ?, seq = seq + 1000 WHERE change_id = ?", state, changeID)
}

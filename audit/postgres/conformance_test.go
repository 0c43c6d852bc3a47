package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/postgres"
	"github.com/flamingock/flamingock-go/internal/pgtest"
)

// TestConformance runs the audit store suite under each pgx query exec
// mode: the default (prepared statements, cached) and the two that work
// behind a transaction-pooling proxy.
func TestConformance(t *testing.T) {
	modes := []pgx.QueryExecMode{
		pgx.QueryExecModeCacheStatement,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			audittest.Run(t, func(t *testing.T) audittest.Opener {
				schema := pgtest.New(t)
				// Each opener call gets its own pool, as another process would.
				return func() (audit.Store, error) {
					pool := schema.Pool(t, func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = mode })
					return postgres.New(context.Background(), pool, postgres.WithSchema(schema.Name))
				}
			})
		})
	}
}

// TestDamage runs the suite's damage cases: tables dropped, rows edited and
// garbled by hand with SQL, as an operator might.
func TestDamage(t *testing.T) {
	audittest.RunDamage(t, func(t *testing.T) audittest.DamageBackend {
		schema := pgtest.New(t)
		admin := schema.Pool(t)
		return audittest.DamageBackend{
			Open: func() (audit.Store, error) {
				return postgres.New(context.Background(), schema.Pool(t), postgres.WithSchema(schema.Name))
			},
			Damage: sqlDamager{exec: func(sql string, args ...any) error {
				_, err := admin.Exec(context.Background(), sql, args...)
				return err
			}, tables: map[audittest.Part]string{
				audittest.PartHistory: postgres.DefaultHistoryTable,
				audittest.PartLatest:  postgres.DefaultLatestTable,
				audittest.PartDigest:  postgres.DefaultHistoryTable + "_digest",
				audittest.PartLock:    postgres.DefaultLockTable,
			}},
		}
	})
}

// sqlDamager damages the store's tables with plain SQL.
type sqlDamager struct {
	exec   func(sql string, args ...any) error
	tables map[audittest.Part]string
}

func (d sqlDamager) Drop(p audittest.Part) error {
	return d.exec("DROP TABLE " + d.tables[p])
}

func (d sqlDamager) SetRaw(changeID, field, raw string) error {
	cast := ""
	if field == "metadata" {
		cast = "::jsonb"
	}
	for _, p := range []audittest.Part{audittest.PartHistory, audittest.PartLatest} {
		if err := d.exec("UPDATE "+d.tables[p]+" SET "+field+" = $1::text"+cast+" WHERE change_id = $2", raw, changeID); err != nil {
			return err
		}
	}
	return nil
}

func (d sqlDamager) DeleteHistory(changeID string) error {
	return d.exec("DELETE FROM "+d.tables[audittest.PartHistory]+" WHERE change_id = $1", changeID)
}

func (d sqlDamager) SetLatestState(changeID, state string) error {
	return d.exec("UPDATE "+d.tables[audittest.PartLatest]+" SET state = $1 WHERE change_id = $2", state, changeID)
}

func (d sqlDamager) InsertLatest(changeID, fromChangeID, state string) error {
	latest := d.tables[audittest.PartLatest]
	return d.exec("INSERT INTO "+latest+" SELECT * FROM jsonb_populate_record(NULL::"+latest+
		", (SELECT to_jsonb(l) || jsonb_build_object('change_id', $1::text, 'state', $2::text) FROM "+latest+" AS l WHERE change_id = $3::text))",
		changeID, state, fromChangeID)
}

func (d sqlDamager) RaiseLatest(changeID, state string) error {
	return d.exec("UPDATE "+d.tables[audittest.PartLatest]+" SET state = $1, seq = seq + 1000 WHERE change_id = $2", state, changeID)
}

package pgtarget_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flamingock/flamingock-go/internal/pgtest"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/pgtarget"
)

// noDDLRole creates a login role that may use schema but not create
// anything in it, and returns a pool connected as that role.
func noDDLRole(t *testing.T, admin *pgxpool.Pool, schema pgtest.Schema) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	role := schema.Name + "_app"
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA " + schema.Name + " TO " + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = admin.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = admin.Exec(ctx, "DROP ROLE "+role)
	})
	return schema.Pool(t, func(c *pgxpool.Config) { c.ConnConfig.User = role }), role
}

// A role that may not run DDL works as soon as the marker table exists,
// without WithoutAutoCreate: the target looks before it creates.
func TestMarkerTableCheckedBeforeCreating(t *testing.T) {
	admin, schema := pgtest.NewPool(t)
	ctx := context.Background()
	app, _ := noDDLRole(t, admin, schema)
	ddl, err := pgtarget.Schema(pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "GRANT SELECT, INSERT, UPDATE ON "+pgx.Identifier{schema.Name, pgtarget.DefaultMarkerTable}.Sanitize()+" TO "+app.Config().ConnConfig.User); err != nil {
		t.Fatal(err)
	}
	tg, err := pgtarget.New("db", app, pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r", Token: 1}, 0, true); err != nil {
		t.Fatalf("marker write by a role without DDL rights, table in place: %v", err)
	}
	if m, found := readMarker(t, tg, "c1"); !found || m.RunID != "r" {
		t.Errorf("marker of c1: %+v found=%v", m, found)
	}
}

// When the table is missing and the role may not create it, the error
// names the statement, the role, and how to pre-create the table.
func TestMarkerTablePermissionErrorSaysWhatToDo(t *testing.T) {
	admin, schema := pgtest.NewPool(t)
	app, role := noDDLRole(t, admin, schema)
	tg, err := pgtarget.New("db", app, pgtarget.WithSchema(schema.Name))
	if err != nil {
		t.Fatal(err)
	}
	err = writeMarker(t, tg, targets.Marker{ChangeID: "c1", RunID: "r", Token: 1}, 0, true)
	if err == nil {
		t.Fatal("a role without DDL rights created the marker table")
	}
	t.Logf("error: %v", err)
	for _, want := range []string{"CREATE TABLE IF NOT EXISTS", `role "` + role + `"`, "pgtarget.Schema", "WithoutAutoCreate", "SQLSTATE 42501"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("permission error lacks %q:\n%v", want, err)
		}
	}
}

package cli_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	driver "github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

// TestMySQLURL: the standalone CLI reads a MySQL audit trail the
// application wrote, through mysql:// with the application's lock key, and
// never prints a password.
func TestMySQLURL(t *testing.T) {
	db, d := mytest.NewDB(t)
	store, err := mysql.New(context.Background(), db, mysql.WithLockKey("billing"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)

	cfg, err := driver.ParseDSN(d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", User: url.User(cfg.User), Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	}
	r := expect(t, execute(t, standalone(u.String()+"?flamingock_lock_key=billing"), "audit", "list"), 0)
	if !strings.Contains(r.stdout, "index-users") {
		t.Errorf("audit list through mysql:// should list the applied changes:\n%s", r)
	}

	const secret = "Sup3rS3cretValue"
	r = expect(t, execute(t, standalone("mysql://ops:"+secret+"@127.0.0.1:1/app?timeout=2s"), "audit", "list"), 1)
	if strings.Contains(r.stderr+r.stdout, secret) || !strings.Contains(r.stderr, "mysql://ops:xxxxx@127.0.0.1:1/app") {
		t.Errorf("an unreachable server's error should show the URL with the password as xxxxx:\n%s", r)
	}
	r = expect(t, execute(t, standalone(u.String()+"?flamingock_digest_table=no-dashes"), "audit", "list"), 2)
	if !strings.Contains(r.stderr, `WithDigestTable("no-dashes")`) {
		t.Errorf("an invalid table name is a usage error naming the option:\n%s", r)
	}
}

package mysql_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/mysql"
	"github.com/flamingock/flamingock-go/audit/storeurl"
	"github.com/flamingock/flamingock-go/internal/mytest"
)

// storeURL is the mysql:// URL of the test database d, with extra query
// parameters appended as written.
func storeURL(t *testing.T, d mytest.Database, query string) string {
	t.Helper()
	cfg, err := driver.ParseDSN(d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	s := u.String()
	if query != "" {
		s += "?" + query
	}
	return s
}

func tableCount(t *testing.T, d mytest.Database) int {
	t.Helper()
	var n int
	if err := d.DB(t).QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOpenURLCreatesNothing: pointed at a database without the audit
// tables, the opener says so, with the hint, and leaves the database empty.
func TestOpenURLCreatesNothing(t *testing.T) {
	d := mytest.New(t)
	ctx := context.Background()
	_, err := storeurl.Open(ctx, storeURL(t, d, ""))
	if err == nil || errors.Is(err, storeurl.ErrInvalid) {
		t.Fatalf("open on an empty database: %v, want a failure that is not a usage error", err)
	}
	for _, want := range []string{"no audit tables", "`flamingock_audit`", "flamingock_history_table"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := tableCount(t, d); n != 0 {
		t.Errorf("the opener created %d tables", n)
	}
	if _, err := mysql.New(ctx, d.DB(t)); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"mysql", "MariaDB"} {
		raw := scheme + strings.TrimPrefix(storeURL(t, d, ""), "mysql")
		s, err := storeurl.Open(ctx, raw)
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if _, err := s.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
			t.Errorf("%s: LockInfo through the tool's store: %v", scheme, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenURLTableAndLockParameters: a store built with its own digest
// table and lock key is seen by the opener only when the URL names both.
func TestOpenURLTableAndLockParameters(t *testing.T) {
	db, d := mytest.NewDB(t)
	ctx := context.Background()
	app, err := mysql.New(ctx, db, mysql.WithHistoryTable("billing_audit"), mysql.WithDigestTable("billing_digest"), mysql.WithLockKey("billing"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := app.AcquireLock(ctx, audittest.Owner("web-7"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(ctx, audittest.SampleEntry("index-users", audit.Applied, l.Token)); err != nil {
		t.Fatal(err)
	}

	full := storeURL(t, d, "flamingock_history_table=billing_audit&flamingock_digest_table=billing_digest&flamingock_lock_key=billing")
	s, err := storeurl.Open(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if info, err := s.LockInfo(ctx); err != nil || info.Token != l.Token {
		t.Errorf("LockInfo with flamingock_lock_key=billing: %+v, %v; want the billing lease (token %d)", info, err, l.Token)
	}
	if snap, err := s.Snapshot(ctx); err != nil || snap["index-users"].State != audit.Applied {
		t.Errorf("Snapshot through the URL: %v, %v", snap, err)
	}

	_, err = storeurl.Open(ctx, storeURL(t, d, "flamingock_history_table=billing_audit&flamingock_lock_key=billing"))
	if err == nil || !strings.Contains(err.Error(), "`billing_audit_digest`") || !strings.Contains(err.Error(), "flamingock_digest_table") {
		t.Errorf("without flamingock_digest_table: %v, want the missing derived digest table and the parameter named", err)
	}
	other, err := storeurl.Open(ctx, storeURL(t, d, "flamingock_history_table=billing_audit&flamingock_digest_table=billing_digest"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.LockInfo(ctx); !errors.Is(err, audit.ErrNoLock) {
		t.Errorf("without flamingock_lock_key the default key's row holds no lock: %v", err)
	}

	for query, want := range map[string]string{
		"flamingock_lock_key=":               "WithLockKey",
		"flamingock_history_table=no-dashes": "WithHistoryTable",
		"flamingock_schema=x":                `unknown parameter "flamingock_schema"`,
	} {
		_, err := storeurl.Open(ctx, storeURL(t, d, query))
		if !errors.Is(err, storeurl.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a usage error naming %s", query, err, want)
		}
	}
}

// TestOpenURLKeepsDriverParametersAsWritten: parameters other than
// flamingock_* reach the driver's DSN parser as written. The session time
// zone '+05:30' must be written %2B05:30; a plus sign read back as a space
// would make the server refuse the zone, as the second URL shows.
func TestOpenURLKeepsDriverParametersAsWritten(t *testing.T) {
	db, d := mytest.NewDB(t)
	ctx := context.Background()
	if _, err := mysql.New(ctx, db); err != nil {
		t.Fatal(err)
	}
	s, err := storeurl.Open(ctx, storeURL(t, d, "time_zone=%27%2B05%3A30%27&flamingock_lock_key=flamingock"))
	if err != nil {
		t.Fatalf("time_zone=%%27%%2B05%%3A30%%27: %v", err)
	}
	s.Close()
	if _, err := storeurl.Open(ctx, storeURL(t, d, "time_zone=%27+05%3A30%27")); err == nil || !strings.Contains(err.Error(), "time zone") {
		t.Errorf("time_zone with a raw plus (a space to the driver): %v, want the server to refuse the zone", err)
	}
}

// TestOpenURLSecretsNeverPrinted: no password-like value of a store URL
// appears in the error, whichever layer failed.
func TestOpenURLSecretsNeverPrinted(t *testing.T) {
	d := mytest.New(t)
	ctx := context.Background()
	const secret = "Sup3rS3cretValue"
	good := storeURL(t, d, "")
	for _, c := range []struct {
		name, url string
		usage     bool
	}{
		{"user-info password, unreachable", "mysql://ops:" + secret + "@127.0.0.1:1/app?timeout=2s", false},
		{"percent-encoded user-info password, unreachable", "mysql://ops:" + secret[:4] + "%21" + secret[4:] + "@127.0.0.1:1/app?timeout=2s", false},
		{"password parameter", "mysql://ops@127.0.0.1:1/app?password=" + secret + "&timeout=2s", true},
		{"wrong user-info password", strings.Replace(good, "mysql://root@", "mysql://root:"+secret+"@", 1), false},
		{"password parameter, bad table name", good + "?password=" + secret + "&flamingock_latest_table=no-dashes", true},
		{"password parameter, malformed for the driver", good + "?password=" + secret + "&timeout=soon", true},
		{"user-info password, no database", "mysql://ops:" + secret + "@127.0.0.1:1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "wrong user-info password" && !strings.Contains(good, "mysql://root@") {
				t.Skip("the test server's user has a password")
			}
			_, err := storeurl.Open(ctx, c.url)
			if err == nil {
				t.Fatal("opened")
			}
			if errors.Is(err, storeurl.ErrInvalid) != c.usage {
				t.Errorf("usage error = %v, want %v: %v", !c.usage, c.usage, err)
			}
			if strings.Contains(err.Error(), secret[4:]) {
				t.Errorf("the password leaked: %v", err)
			}
			if !strings.Contains(err.Error(), "xxxxx") {
				t.Errorf("the error should show the URL with the password as xxxxx: %v", err)
			}
		})
	}
}

// TestOpenURLRefusesAPasswordParameter: the driver would send it to the
// server as SET password=..., so it is a usage error saying where the
// password goes.
func TestOpenURLRefusesAPasswordParameter(t *testing.T) {
	_, err := storeurl.Open(context.Background(), "mysql://ops@127.0.0.1:1/app?password=pw123")
	if !errors.Is(err, storeurl.ErrInvalid) || !strings.Contains(err.Error(), "user info") || strings.Contains(err.Error(), "pw123") {
		t.Errorf("a password parameter: %v, want a usage error pointing at the user info, without the password", err)
	}
}

package storeurl_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/storeurl"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://ops:s3cret@db:5432/app?sslmode=require", "postgres://ops:xxxxx@db:5432/app?sslmode=require"},
		{"postgres://ops@db/app?password=s3cret&sslpassword=k3y&application_name=a+b", "postgres://ops@db/app?password=xxxxx&sslpassword=xxxxx&application_name=a+b"},
		{"postgres://ops:p%40ss@db/app?options=-c%20search_path%3Dx", "postgres://ops:xxxxx@db/app?options=-c%20search_path%3Dx"},
		{"couchbase://ops:pw@h1:11210,h2/audit?flamingock_key_prefix=x", "couchbase://ops:xxxxx@h1:11210,h2/audit?flamingock_key_prefix=x"},
		{"couchbase://ops@h1/audit", "couchbase://ops@h1/audit"},
		{"mysql://u:a@b@host/db", "mysql://u:xxxxx@host/db"},
		{"x://h/p?client_secret=abc&access_token=def&PassWord=g", "x://h/p?client_secret=xxxxx&access_token=xxxxx&PassWord=xxxxx"},
		{"sqlite:///var/app.db", "sqlite:///var/app.db"},
		{"not a url at all", "not a url at all"},
		{"postgres://u:pa?ssSECRET@127.0.0.1:1/db", "postgres://u:xxxxx@127.0.0.1:1/db"},
		{"postgres://u:pa/ssSECRET@127.0.0.1:1/db?sslmode=disable", "postgres://u:xxxxx@127.0.0.1:1/db?sslmode=disable"},
		{"couchbase://u:pa/SECRET@127.0.0.1:1/bkt", "couchbase://u:xxxxx@127.0.0.1:1/bkt"},
		{"postgres://h:5432/db?application_name=a@b", "postgres://h:5432/db?application_name=a@b"},
		{"host=127.0.0.1 port=1 user=u password=KWSECRET dbname=db", "host=127.0.0.1 port=1 user=u password=xxxxx dbname=db"},
		{"host=h password = 'a b\\' c' sslmode=disable", "host=h password = xxxxx sslmode=disable"},
		{"u:MYSECRET@tcp(127.0.0.1:3306)/test", "u:xxxxx@tcp(127.0.0.1:3306)/test"},
		{"x://h/p?api_key=1&apikey=2&access_key=3&sslkey=4&passphrase=5&flamingock_key_prefix=k", "x://h/p?api_key=xxxxx&apikey=xxxxx&access_key=xxxxx&sslkey=xxxxx&passphrase=xxxxx&flamingock_key_prefix=k"},
	} {
		if got := storeurl.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTakeKeepsDriverParametersAsWritten(t *testing.T) {
	u, err := storeurl.Parse("postgres://h/db?options=-c%20search_path%3Dx&flamingock_schema=s&application_name=a+b&x=%2B")
	if err != nil {
		t.Fatal(err)
	}
	var schema string
	rest, err := u.Take(map[string]func(string) error{"flamingock_schema": func(v string) error { schema = v; return nil }}, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "options=-c%20search_path%3Dx&application_name=a+b&x=%2B"; rest != want {
		t.Errorf("rest = %q, want %q", rest, want)
	}
	if schema != "s" {
		t.Errorf("flamingock_schema = %q, want s", schema)
	}
	_, err = u.Take(map[string]func(string) error{}, false)
	if !errors.Is(err, storeurl.ErrInvalid) || !strings.Contains(err.Error(), `unknown parameter "flamingock_schema"`) {
		t.Errorf("an unknown flamingock_ parameter: err = %v, want ErrInvalid naming it", err)
	}
	_, err = u.Take(map[string]func(string) error{"flamingock_schema": func(string) error { return nil }}, true)
	if !errors.Is(err, storeurl.ErrInvalid) || !strings.Contains(err.Error(), `unknown parameter "options"`) {
		t.Errorf("strict: err = %v, want ErrInvalid naming options", err)
	}
}

// TestOpenScrubsSecrets: whatever an opener's driver writes into an error,
// Open's error does not hold the URL's secrets, and errors.Is still works.
func TestOpenScrubsSecrets(t *testing.T) {
	sentinel := errors.New("driver failed")
	storeurl.Register(func(_ context.Context, u *storeurl.URL) (audit.Store, error) {
		u.Secret("from-env-pw")
		return nil, fmt.Errorf("connecting with %s (raw %s, env from-env-pw): %w", u.Raw, u.Raw, sentinel)
	}, "leaky")
	_, err := storeurl.Open(context.Background(), "leaky://ops:p%40ssword@h/db?sslpassword=k3y%21&token=t0k")
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want it to wrap the opener's error", err)
	}
	for _, s := range []string{"p%40ssword", "p@ssword", "k3y", "t0k", "from-env-pw"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("secret %q in %q", s, err)
		}
	}
}

func TestOpenUnregisteredScheme(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://ops:pw@db/app": `import _ "github.com/flamingock/flamingock-go/audit/postgres"`,
		"mariadb://ops:pw@db/app":  `import _ "github.com/flamingock/flamingock-go/audit/mysql"`,
		"mongodb://db/app":         `unknown scheme "mongodb"`,
		"app.db":                   "no scheme",
	} {
		_, err := storeurl.Open(context.Background(), raw)
		if !errors.Is(err, storeurl.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want ErrInvalid saying %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("password in %v", err)
		}
	}
}

func TestParseRejectsUnencodedPasswordDelimiters(t *testing.T) {
	_, err := storeurl.Parse("postgres://u:pa/ss@h/db")
	if !errors.Is(err, storeurl.ErrInvalid) || !strings.Contains(err.Error(), "percent-encode") {
		t.Errorf("err = %v, want ErrInvalid asking to percent-encode", err)
	}
	u, err := storeurl.Parse("postgres://h:5432/db?application_name=a@b")
	if err != nil || u.Base != "postgres://h:5432/db" || len(u.Params) != 1 {
		t.Errorf("an '@' in a query value: %+v, %v", u, err)
	}
}

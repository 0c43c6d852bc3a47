// Package realopen_test opens store URLs through the real store openers,
// in a test binary of its own: the storeurl tests need a program that links
// no store, this one links them all, as cmd/flamingock does.
package realopen_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/flamingock/flamingock-go/audit/couchbase"
	_ "github.com/flamingock/flamingock-go/audit/postgres"
	_ "github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/audit/storeurl"
)

// TestOpenNeverEchoesSecrets opens each URL through the real store openers
// (PostgreSQL on a closed port, so the driver's connection error is part of
// the message) and checks the secret appears nowhere in the error.
func TestOpenNeverEchoesSecrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct{ raw, secret string }{
		{"postgres://u:pa?ssSECRET@127.0.0.1:1/db", "ssSECRET"},
		{"postgres://u:pa/ssSECRET@127.0.0.1:1/db", "ssSECRET"},
		{"postgres://u:plainSECRET@127.0.0.1:1/db?connect_timeout=5", "plainSECRET"},
		{"couchbase://u:pa/SECRET@127.0.0.1:1/bkt", "SECRET"},
		{"couchbase://u:pa?SECRET@127.0.0.1:1/bkt", "SECRET"},
		{"host=127.0.0.1 port=1 user=u password=KWSECRET dbname=db", "KWSECRET"},
		{"u:MYSECRET@tcp(127.0.0.1:3306)/test", "MYSECRET"},
		{"postgres://u@127.0.0.1:1/db?api_key=AKSECRET", "AKSECRET"},
		{"postgres://u@127.0.0.1:1/db?apikey=AKSECRET2", "AKSECRET2"},
		{"postgres://u@127.0.0.1:1/db?access_key=AKSECRET3", "AKSECRET3"},
		{"postgres://u@127.0.0.1:1/db?flamingock_nope=1&client_credential=CREDSECRET", "CREDSECRET"},
		{"sqlite:///" + filepath.ToSlash(filepath.Join(t.TempDir(), "missing.db")) + "?passphrase=PPSECRET", "PPSECRET"},
		{"mongodb://u:MONGOSECRET@h/db", "MONGOSECRET"},
	} {
		s, err := storeurl.Open(ctx, c.raw)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", storeurl.Redact(c.raw))
			continue
		}
		if strings.Contains(err.Error(), c.secret) {
			t.Errorf("Open: secret %q in error %q", c.secret, err)
		}
		if strings.Contains(storeurl.Redact(c.raw), c.secret) {
			t.Errorf("Redact keeps secret %q: %q", c.secret, storeurl.Redact(c.raw))
		}
	}
}

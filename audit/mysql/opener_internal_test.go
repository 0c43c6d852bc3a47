package mysql

import (
	"strings"
	"testing"
)

func TestDriverConfig(t *testing.T) {
	cfg, err := driverConfig("mysql://app:p%40ss%3Aw%2Fd@db.example:3307/orders", "tls=skip-verify&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "app" || cfg.Passwd != "p@ss:w/d" || cfg.Addr != "db.example:3307" || cfg.DBName != "orders" || cfg.TLSConfig != "skip-verify" || cfg.Timeout.String() != "5s" {
		t.Errorf("config %+v", cfg)
	}
	if cfg, err := driverConfig("mariadb://root@127.0.0.1/test", ""); err != nil || cfg.Addr != "127.0.0.1:3306" || cfg.Passwd != "" {
		t.Errorf("default port: %+v, %v", cfg, err)
	}
	for _, c := range []struct{ base, params, want string }{
		{"mysql://x@h", "", "database"},
		{"mysql://x@h/a/b", "", "database"},
		{"mysql:///db", "", "no host"},
		{"mysql://x@h/db", "timeout=abc", "driver parameters"},
	} {
		if _, err := driverConfig(c.base, c.params); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s?%s: %v, want an error about %s", c.base, c.params, err, c.want)
		}
	}
}
